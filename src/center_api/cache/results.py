"""`ResultCache`: look a call up by its key, compute a miss once, keep what it gave."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import msgspec

from center_api.cache.backends import CacheBackend, MemoryBackend, RedisBackend
from center_api.cache.keys import (
    canonical_options,
    code_fingerprint,
    models_fingerprint,
    result_key,
)
from center_api.core.logging import get_logger
from center_api.core.settings import Settings, SettingsError
from center_api.kernel.model_store import ModelStore
from center_api.registry.spec import Slice, SliceResult

logger = get_logger("center_api.cache")
Outcome = Literal["HIT", "MISS"]
_MB = 1024 * 1024


class ResultCache:
    """Slice results by content; one per process (APP scope).

    Only `SliceResult` answers are kept (a JSON answer passes through uncached), and only
    successes: an error is raised again on the next call, never remembered.
    """

    def __init__(self, settings: Settings, store: ModelStore, backend: CacheBackend | None) -> None:
        """A cache over ``backend`` (None: caching is off and every call computes)."""
        self.settings = settings.cache
        self._images = settings.images
        self._store = store
        self.backend = backend
        self._inflight: dict[str, asyncio.Future[bytes | None]] = {}

    @classmethod
    def build(cls, settings: Settings, store: ModelStore) -> "ResultCache":
        """The cache ``[cache] backend`` asks for."""
        config = settings.cache
        backend: CacheBackend | None = None
        if config.backend == "memory":
            backend = MemoryBackend(config.max_mb * _MB)
        elif config.backend == "redis":
            url = config.url or settings.queue.url
            if not url:
                raise SettingsError("[cache] backend = 'redis' needs [cache] url or [queue] url")
            backend = RedisBackend(url, config.ttl_s, config.max_mb * _MB)
        return cls(settings, store, backend)

    @property
    def is_enabled(self) -> bool:
        """Whether results are looked up and kept at all."""
        return self.backend is not None

    def key_for(
        self, *, tool: str, operation: str, package: str, image: bytes, options: Any
    ) -> str | None:
        """The key of this call, or None when it is not cached (caching off, a URL option).

        ``operation`` names what runs (a route's service method, or ``task``); ``package`` is
        the top-level package of its code (its sources are part of the key).
        """
        if self.backend is None:
            return None
        canonical = canonical_options(options)
        if canonical is None:
            return None
        return result_key(
            tool=tool,
            operation=operation,
            image=image,
            options=canonical,
            models=models_fingerprint(self._store),
            images=self._images,
            code=code_fingerprint(package),
        )

    def task_key(self, spec: Slice, image: bytes, options: Any) -> str | None:
        """The key of a task's run of ``spec`` (None when ``[cache] tasks`` is off)."""
        if not self.settings.tasks:
            return None
        module = type(spec).__module__
        return self.key_for(
            tool=spec.name,
            operation=f"{module}.{type(spec).__qualname__}.run",
            package=module.split(".", 1)[0],
            image=image,
            options=options,
        )

    async def through(
        self,
        key: str | None,
        compute: Callable[[], Awaitable[Any]],
        *,
        refresh: bool = False,
    ) -> tuple[Any, Outcome | None]:
        """The cached result under ``key``, or ``compute()``'s (kept when it is a SliceResult).

        ``refresh`` skips the lookup (the client said ``Cache-Control: no-cache``) and stores
        the new result. Identical calls arriving while one computes wait for it and share its
        result. Answers ``(result, "HIT" | "MISS")``, or ``(result, None)`` when not cached.

        Raises:
            Whatever ``compute`` raises.
        """
        if key is None or self.backend is None:
            return await compute(), None
        if not refresh:
            cached = await self._lookup(key)
            if cached is not None:
                return cached, "HIT"
        future: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        owner = key not in self._inflight
        if owner:
            self._inflight[key] = future
        try:
            result = await compute()
            value = _encode(result)
            if value is not None:
                await self.backend.put(key, value)
            future.set_result(value)
        finally:
            if not future.done():
                future.set_result(None)  # failed or cancelled: waiters compute themselves
            if owner:
                self._inflight.pop(key, None)
        return result, "MISS"

    async def _lookup(self, key: str) -> SliceResult | None:
        assert self.backend is not None
        value = await self.backend.get(key)
        if value is None:
            pending = self._inflight.get(key)
            if pending is not None:
                value = await asyncio.shield(pending)
        if value is None:
            return None
        try:
            return msgspec.msgpack.decode(value, type=SliceResult)
        except msgspec.DecodeError:
            logger.warning("cache.entry_unreadable", key=key)
            return None

    async def close(self) -> None:
        """Release the backend."""
        if self.backend is not None:
            await self.backend.close()


def with_outcome(result: Any, outcome: Outcome | None) -> Any:
    """``result`` tagged with how the cache answered it (``cache`` metadata, so ``X-Cache``).

    Only a `SliceResult` that went through the cache is tagged; anything else is as it is.
    """
    if outcome is None or not isinstance(result, SliceResult):
        return result
    metadata = {**result.metadata, "cache": outcome}
    return SliceResult(content=result.content, media_type=result.media_type, metadata=metadata)


def _encode(result: Any) -> bytes | None:
    if not isinstance(result, SliceResult):
        return None
    try:
        return msgspec.msgpack.encode(result)
    except (TypeError, msgspec.EncodeError):  # metadata msgpack cannot hold: keep nothing
        return None
