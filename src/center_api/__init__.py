"""Center API: self-hosted image processing over HTTP."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("center-api")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0.0.0+source"
