"""Where cached results live: a bounded in-memory LRU, or Redis shared by every process."""

import time
from collections import OrderedDict
from typing import Any, Protocol

from center_api.core.logging import get_logger

logger = get_logger("center_api.cache")
_REST_S = 10.0  # how long a failed Redis is left alone


class CacheBackend(Protocol):
    """Bytes by key. A backend that fails answers a miss; it never fails the call."""

    async def get(self, key: str) -> bytes | None:
        """The value, or None."""
        ...

    async def put(self, key: str, value: bytes) -> None:
        """Keep ``value`` (a backend may refuse or evict, silently)."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryBackend:
    """Least recently used entries go first once the values pass ``max_bytes`` together.

    Used from the event loop only (no locks). A value larger than an eighth of the budget is
    not kept: one huge result must not flush everything else.
    """

    def __init__(self, max_bytes: int) -> None:
        """An empty cache holding at most ``max_bytes`` of values."""
        self.max_bytes = max_bytes
        self.size = 0
        self.evictions = 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()

    def __len__(self) -> int:
        """Entries held."""
        return len(self._entries)

    async def get(self, key: str) -> bytes | None:
        """The value (now the most recently used), or None."""
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    async def put(self, key: str, value: bytes) -> None:
        """Keep ``value``, evicting the least recently used entries to make room."""
        if len(value) > self.max_bytes // 8:
            return
        old = self._entries.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._entries[key] = value
        self.size += len(value)
        while self.size > self.max_bytes:
            _, evicted = self._entries.popitem(last=False)
            self.size -= len(evicted)
            self.evictions += 1

    async def close(self) -> None:
        """Drop everything."""
        self._entries.clear()
        self.size = 0


class RedisBackend:
    """Entries in Redis with a time to live; Redis's own ``maxmemory`` policy bounds them.

    A Redis that fails is left alone for `_REST_S` (every call a miss meanwhile), so a stopped
    Redis costs one failed attempt, not a timeout per request.
    """

    def __init__(self, url: str, ttl_s: int, max_value_bytes: int) -> None:
        """Connect lazily to ``url``."""
        from redis.asyncio import Redis  # noqa: PLC0415 - optional extra (scale)
        from redis.backoff import NoBackoff  # noqa: PLC0415
        from redis.retry import Retry  # noqa: PLC0415

        self._redis: Any = Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0, retry=Retry(NoBackoff(), 0)
        )
        self._ttl_s = ttl_s
        self._max_value_bytes = max_value_bytes
        self._resting_until = 0.0

    async def get(self, key: str) -> bytes | None:
        """The value, or None (also when Redis cannot be reached)."""
        if time.monotonic() < self._resting_until:
            return None
        try:
            value = await self._redis.get(key)
        except Exception:  # a cache that is down is a miss, never an error
            self._rest("get")
            return None
        return bytes(value) if value is not None else None

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` for ``ttl_s`` (skipped when Redis cannot be reached)."""
        if len(value) > self._max_value_bytes or time.monotonic() < self._resting_until:
            return
        try:
            await self._redis.set(key, value, ex=self._ttl_s)
        except Exception:
            self._rest("put")

    def _rest(self, op: str) -> None:
        self._resting_until = time.monotonic() + _REST_S
        logger.warning("cache.redis_unavailable", op=op, retry_in_s=_REST_S, exc_info=True)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
