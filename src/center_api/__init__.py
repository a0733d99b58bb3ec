"""Center API: self-hosted image processing over HTTP.

This module holds the version only and imports nothing of the package, so every layer may read
it. The packages, bottom to top (imports only point down; see docs/architecture.md):
``core`` → ``db``, ``kernel`` → ``registry``, ``usage``, ``auth`` → ``http`` → ``sdk`` →
``slices/*`` (and plugins) → ``tasks`` → ``bootstrap``; ``testing`` is the kit for plugin authors.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("center-api")
except PackageNotFoundError:  # a source checkout that was never installed
    __version__ = "0.0.0+source"
