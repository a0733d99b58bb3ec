"""Where cached results live: a bounded in-memory LRU, or Redis shared by every process."""

from collections import OrderedDict
from typing import Any, Protocol

from center_api.core.logging import get_logger

logger = get_logger("center_api.cache")


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
    """Entries in Redis with a time to live; Redis's own ``maxmemory`` policy bounds them."""

    def __init__(self, url: str, ttl_s: int, max_value_bytes: int) -> None:
        """Connect lazily to ``url``."""
        from redis.asyncio import Redis  # noqa: PLC0415 - optional extra (scale)

        self._redis: Any = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._ttl_s = ttl_s
        self._max_value_bytes = max_value_bytes

    async def get(self, key: str) -> bytes | None:
        """The value, or None (also when Redis cannot be reached)."""
        try:
            value = await self._redis.get(key)
        except Exception:  # a cache that is down is a miss, never an error
            logger.warning("cache.redis_unavailable", op="get", exc_info=True)
            return None
        return bytes(value) if value is not None else None

    async def put(self, key: str, value: bytes) -> None:
        """Store ``value`` for ``ttl_s`` (skipped when Redis cannot be reached)."""
        if len(value) > self._max_value_bytes:
            return
        try:
            await self._redis.set(key, value, ex=self._ttl_s)
        except Exception:
            logger.warning("cache.redis_unavailable", op="put", exc_info=True)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
