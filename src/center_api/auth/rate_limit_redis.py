"""Rate-limit counters in Redis: every API process shares one count per client.

One key per identity and window (``<prefix>:ratelimit:<identity>:<window>``), INCR + EXPIRE in
one transaction. Windows are aligned to the Unix clock, so processes on machines with NTP agree
on them. If Redis cannot be reached, counting falls back to this process alone (a logged,
weaker limit) rather than refusing or failing every request, and Redis is tried again only
``RETRY_S`` later, so a hung server costs one request a timeout, not every request.
"""

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError

from center_api.auth.rate_limit import MemoryRateLimitStore
from center_api.core.logging import get_logger

logger = get_logger("center_api.rate_limit")
RETRY_S = 5.0


class RedisRateLimitStore:
    """A `RateLimitStore` on Redis, with a per-process fallback."""

    def __init__(self, url: str, prefix: str) -> None:
        """Connect lazily, inside the serving loop (Redis clients belong to one loop)."""
        self._url, self._prefix = url, f"{prefix}:ratelimit:"
        self._redis: Redis | None = None
        self._fallback = MemoryRateLimitStore(clock=time.time)
        self._retry_at = 0.0  # while degraded: when to try Redis again
        self._degraded = False

    async def hit(self, identity: str, window_s: int) -> tuple[int, float]:
        """Count one hit for ``identity`` in the current window, shared by every process."""
        now = time.time()
        window = int(now // window_s)
        key = f"{self._prefix}{identity}:{window}"
        if self._degraded and now < self._retry_at:
            return await self._fallback.hit(identity, window_s)
        if self._redis is None:
            self._redis = Redis.from_url(self._url, socket_timeout=1.0, socket_connect_timeout=1.0)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, window_s + 1)
                count, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            if not self._degraded:
                logger.warning("rate_limit.redis_unavailable", error=str(exc))
            self._degraded, self._retry_at = True, now + RETRY_S
            return await self._fallback.hit(identity, window_s)
        if self._degraded:
            logger.info("rate_limit.redis_back")
            self._retry_at = 0.0  # while degraded: when to try Redis again
        self._degraded = False
        return int(count), (window + 1) * window_s - now

    async def close(self) -> None:
        """Disconnect."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
