"""Where task inputs and results live: a small interface, a local-directory implementation."""

import asyncio
import os
import tempfile
import time
from pathlib import Path
from typing import Protocol


class ResultStore(Protocol):
    """Bytes by key; writes are atomic and idempotent (same key, same bytes)."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing atomically)."""

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or None."""

    async def delete(self, key: str) -> None:
        """Remove ``key`` if present."""

    async def sweep(self, older_than_s: float) -> int:
        """Delete entries older than ``older_than_s``; return how many."""


class LocalResultStore:
    """Files under one directory; keys are relative paths like ``inputs/<id>``."""

    def __init__(self, root: Path) -> None:
        """Use (and create on first write) ``root``."""
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    async def put(self, key: str, data: bytes) -> None:
        """Write to a temp file in the same folder, fsync, then rename into place."""
        await asyncio.to_thread(self._put, key, data)

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(handle.name, path)

    async def get(self, key: str) -> bytes | None:
        """Read ``key``."""
        path = self._path(key)
        return await asyncio.to_thread(lambda: path.read_bytes() if path.is_file() else None)

    async def delete(self, key: str) -> None:
        """Remove ``key``."""
        await asyncio.to_thread(self._path(key).unlink, True)

    async def sweep(self, older_than_s: float) -> int:
        """Delete files not modified for ``older_than_s`` seconds."""
        return await asyncio.to_thread(self._sweep, older_than_s)

    def _sweep(self, older_than_s: float) -> int:
        if not self.root.is_dir():
            return 0
        deadline, removed = time.time() - older_than_s, 0
        for path in self.root.rglob("*"):
            if path.is_file() and path.stat().st_mtime < deadline:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
