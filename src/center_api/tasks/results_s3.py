"""Task inputs and results in an S3-compatible bucket (AWS S3, SeaweedFS, MinIO …).

Needs the ``scale`` extra (``obstore``). The store is named by one URL::

    s3://<bucket>?endpoint=http://127.0.0.1:8333&region=us-east-1

Credentials come from the URL query (``access_key_id``, ``secret_access_key``) or, when the
query has none, from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``; with neither, obstore's
default AWS credential chain applies (instance roles and the like).
"""

import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import S3Store

if TYPE_CHECKING:
    from obstore.store import ClientConfig, S3Config

DEFAULT_REGION = "us-east-1"
# S3 DeleteObjects takes at most 1000 keys a request.
DELETE_BATCH = 1000
QUERY_KEYS = frozenset({"endpoint", "region", "access_key_id", "secret_access_key"})


class S3ResultStore:
    """Objects in one bucket; keys are the same relative paths ``LocalResultStore`` uses.

    A PUT replaces an object atomically (readers see the old or the new bytes, never a mix), so
    writes need no temp-and-rename dance.
    """

    def __init__(self, store: S3Store) -> None:
        """Use an already configured obstore ``S3Store``."""
        self._store = store

    @classmethod
    def from_url(cls, url: str, environ: Mapping[str, str] | None = None) -> "S3ResultStore":
        """Build the store a ``s3://bucket?endpoint=…&region=…`` URL names.

        Args:
            url: The ``[storage] url`` value.
            environ: Where to read ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` from;
                defaults to ``os.environ``.

        Raises:
            ValueError: The URL is not ``s3://<bucket>`` or carries unknown query keys.
        """
        return cls(open_bucket(url, os.environ if environ is None else environ))

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (one PUT; replaces any previous object atomically)."""
        await obstore.put_async(self._store, key, data)

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None when there is no such object."""
        try:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except (FileNotFoundError, NotFoundError):
            return None

    async def delete(self, key: str) -> None:
        """Remove ``key``; deleting a missing key is not an error (S3 semantics)."""
        await obstore.delete_async(self._store, key)

    async def sweep(self, older_than_s: float) -> int:
        """Delete objects whose listed last-modified time is older than ``older_than_s``."""
        deadline = datetime.now(UTC) - timedelta(seconds=older_than_s)
        stale: list[str] = []
        async for batch in obstore.list(self._store, chunk_size=DELETE_BATCH):
            stale.extend(meta["path"] for meta in batch if meta["last_modified"] < deadline)
        for start in range(0, len(stale), DELETE_BATCH):
            await obstore.delete_async(self._store, stale[start : start + DELETE_BATCH])
        return len(stale)


def open_bucket(url: str, environ: Mapping[str, str]) -> S3Store:
    """An obstore ``S3Store`` for a storage URL, with credentials from it or ``environ``.

    Raises:
        ValueError: The URL is not ``s3://<bucket>`` or carries unknown query keys.
    """
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"storage url must look like s3://<bucket>?endpoint=…, not {url!r}")
    query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    unknown = set(query) - QUERY_KEYS
    if unknown:
        raise ValueError(f"unknown storage url parameters: {', '.join(sorted(unknown))}")
    config: S3Config = {"region": query.get("region", DEFAULT_REGION)}
    client: ClientConfig = {}
    endpoint = query.get("endpoint")
    if endpoint:
        config["endpoint"] = endpoint
        client["allow_http"] = endpoint.startswith("http://")
    key_id = query.get("access_key_id") or environ.get("AWS_ACCESS_KEY_ID")
    secret = query.get("secret_access_key") or environ.get("AWS_SECRET_ACCESS_KEY")
    if key_id and secret:
        config["access_key_id"] = key_id
        config["secret_access_key"] = secret
    return S3Store(parts.netloc, config=config, client_options=client)
