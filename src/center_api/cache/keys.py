"""Cache keys: everything that decides a result, hashed; anything unknown makes a call uncached.

A key covers the input's bytes, the tool and the operation (route or task), the options as
canonical JSON, every known model's id, checksum and presence (a pulled or replaced model, or an
``auto`` choice that would now pick another one, changes it), the image settings (quality,
limits) and the code: `CACHE_VERSION` plus a hash of the source files of the package that
holds the operation and of ``center_api`` itself, so a deploy of changed code never answers
from results of the old code.
"""

import hashlib
from functools import cache
from importlib import util
from pathlib import Path
from typing import Any

import msgspec

from center_api import __version__
from center_api.core.settings import ImageSettings
from center_api.kernel.model_store import ModelStore

# Bump when the cached value's format or meaning changes.
CACHE_VERSION = 1
_PREFIX = "center-api:result:"


@cache
def code_fingerprint(package: str) -> str:
    """A hash of the ``.py`` files of ``package`` and of ``center_api`` (computed once).

    A package that cannot be found (a module defined on the fly) hashes to its name only.
    """
    digest = hashlib.blake2b(f"{CACHE_VERSION}:{__version__}".encode(), digest_size=16)
    for name in sorted({"center_api", package}):
        digest.update(name.encode())
        for path in _source_files(name):
            digest.update(str(path.name).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _source_files(package: str) -> list[Path]:
    spec = util.find_spec(package)
    if spec is None or not spec.origin:
        return []
    origin = Path(spec.origin)
    if origin.name != "__init__.py":
        return [origin]
    return sorted(origin.parent.rglob("*.py"))


def models_fingerprint(store: ModelStore) -> str:
    """The known models' ids, checksums and states (a few ``stat`` calls, no hashing of files)."""
    parts = []
    for model_id in store.ids():
        spec = store.spec(model_id)
        parts.append(f"{model_id}={spec.sha256 or spec.md5 or ''}:{store.state(model_id)}")
    return hashlib.blake2b("|".join(parts).encode(), digest_size=16).hexdigest()


def canonical_options(options: Any) -> bytes | None:
    """The options as canonical JSON (sorted keys), or None when they cannot be cached.

    Options that name a URL (a ``*_url`` field with a value) are not cached: what the URL
    serves may change while the key would not.
    """
    try:
        plain = msgspec.to_builtins(options, builtin_types=(bytes,))
    except (TypeError, msgspec.EncodeError):
        return None
    if _names_a_url(plain):
        return None
    try:
        return msgspec.json.encode(plain, order="sorted")
    except (TypeError, msgspec.EncodeError):
        return None


def _names_a_url(value: Any) -> bool:
    if isinstance(value, dict):
        return any(
            (str(k).endswith("_url") and bool(v)) or _names_a_url(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return any(_names_a_url(v) for v in value)
    return False


def result_key(  # noqa: PLR0913 - each part is one thing the result depends on
    *,
    tool: str,
    operation: str,
    image: bytes,
    options: bytes,
    models: str,
    images: ImageSettings,
    code: str,
) -> str:
    """The key of one call's result (a hex digest behind a fixed prefix)."""
    digest = hashlib.blake2b(digest_size=32)
    for part in (
        tool.encode(),
        operation.encode(),
        options,
        models.encode(),
        msgspec.json.encode(images, order="sorted"),
        code.encode(),
    ):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    digest.update(image)
    return _PREFIX + digest.hexdigest()
