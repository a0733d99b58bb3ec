"""Fixed-window request counters behind a small store interface.

The in-memory store serves one process; `RedisRateLimitStore` (rate_limit_redis.py) lets every
process share one count per client when a shared queue's Redis is configured.
"""

import asyncio
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

WINDOW_S = 60
# Sweep expired windows once the table holds this many clients (bounds memory under abuse).
_SWEEP_AT = 10_000


class RateLimitStore(Protocol):
    """Counts hits per identity in fixed windows."""

    async def hit(self, identity: str, window_s: int) -> tuple[int, float]:
        """Count one hit; return the count in the current window and seconds until it ends."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class MemoryRateLimitStore:
    """A per-process store: ``identity -> (window end, count)``."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        """Create an empty store; ``clock`` is injectable for tests."""
        self._clock = clock
        self._windows: dict[str, tuple[float, int]] = {}
        self._lock = asyncio.Lock()

    async def hit(self, identity: str, window_s: int) -> tuple[int, float]:
        """Count one hit for ``identity`` in the window that contains now."""
        async with self._lock:
            now = self._clock()
            ends, count = self._windows.get(identity, (0.0, 0))
            if now >= ends:
                ends, count = (now // window_s + 1) * window_s, 0
            count += 1
            self._windows[identity] = (ends, count)
            if len(self._windows) > _SWEEP_AT:
                self._sweep(now)
            return count, ends - now

    async def close(self) -> None:
        """Nothing to release."""

    def _sweep(self, now: float) -> None:
        self._windows = {k: v for k, v in self._windows.items() if v[0] > now}

    def __len__(self) -> int:
        """Identities currently tracked."""
        return len(self._windows)


@dataclass(frozen=True)
class RateDecision:
    """The outcome of one check, with the values of the ``X-RateLimit-*`` headers."""

    is_allowed: bool
    limit: int
    remaining: int
    reset_s: int

    def headers(self) -> dict[str, str]:
        """``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (seconds until the reset)."""
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_s),
        }


def build_rate_limit_store(queue_url: str | None, prefix: str) -> RateLimitStore:
    """Redis counters when the task queue is on Redis (many processes), else in memory."""
    if not queue_url:
        return MemoryRateLimitStore()
    from center_api.auth.rate_limit_redis import RedisRateLimitStore  # noqa: PLC0415 - extra

    return RedisRateLimitStore(queue_url, prefix)


class RateLimiter:
    """Per-minute limits over a `RateLimitStore`."""

    def __init__(self, store: RateLimitStore, window_s: int = WINDOW_S) -> None:
        """Use ``store`` for the counters."""
        self.store = store
        self.window_s = window_s

    async def check(self, identity: str, limit: int) -> RateDecision:
        """Count a request by ``identity`` and decide whether it is within ``limit``."""
        count, reset_in = await self.store.hit(identity, self.window_s)
        return RateDecision(
            is_allowed=count <= limit,
            limit=limit,
            remaining=max(limit - count, 0),
            reset_s=max(math.ceil(reset_in), 1),
        )
