"""Task events through Redis pub/sub, so every process sees every task's events.

Each process keeps one pattern subscription (``<queue name>:events:*``) and hands what arrives
to its local subscribers and listeners; `publish` queues the event for one sender, which keeps
a task's events in order. If Redis cannot be reached, events still reach this process's own
subscribers, and event streams fall back to re-reading the task row.
"""

import asyncio
import contextlib
from typing import Any

import msgspec
from redis.asyncio import Redis

from center_api.core.logging import get_logger
from center_api.tasks.events import TaskEvents

logger = get_logger("center_api.tasks.events")
OUTBOX_SIZE = 10_000
RECONNECT_S = 1.0


class RedisTaskEvents(TaskEvents):
    """`TaskEvents` whose publish goes out through Redis and comes back to every process."""

    def __init__(self, url: str, prefix: str) -> None:
        """Nothing connects until `start` (Redis clients belong to the running loop)."""
        super().__init__()
        self._url, self._prefix = url, f"{prefix}:events:"
        self._redis: Redis | None = None
        self._outbox: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue(OUTBOX_SIZE)
        self._loops: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        """Connect, subscribe, and start the sender."""
        # The health check pings an idle subscription, so a dead socket is noticed and replaced.
        self._redis = Redis.from_url(self._url, socket_connect_timeout=2, health_check_interval=15)
        subscribed = asyncio.Event()
        loop = asyncio.get_running_loop()
        self._loops = [loop.create_task(self._listen(subscribed)), loop.create_task(self._send())]
        # Events published before the subscription exists would be lost to this process.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(subscribed.wait(), timeout=2)

    def publish(self, task_id: str, event: dict[str, Any]) -> None:
        """Queue ``event`` for Redis (delivered locally at once when not started)."""
        if self._redis is None:
            self._deliver(task_id, event)
            return
        if self._outbox.full():
            logger.warning("task.events_dropped", task_id=task_id)
            return
        self._outbox.put_nowait((task_id, event))

    async def _send(self) -> None:
        assert self._redis is not None
        while True:
            task_id, event = await self._outbox.get()
            try:
                await self._redis.publish(self._prefix + task_id, msgspec.json.encode(event))
            except Exception:  # Redis down: this process's own watchers still hear of it
                logger.warning("task.events_publish_failed", task_id=task_id, exc_info=True)
                self._deliver(task_id, event)
            finally:
                self._outbox.task_done()

    async def _listen(self, subscribed: asyncio.Event) -> None:
        assert self._redis is not None
        while True:
            pubsub = self._redis.pubsub()
            try:
                await pubsub.psubscribe(self._prefix + "*")
                subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "pmessage":
                        self._on_message(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except Exception:  # connection lost: subscribe again
                logger.warning("task.events_subscription_lost", exc_info=True)
                await asyncio.sleep(RECONNECT_S)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _on_message(self, channel: bytes, data: bytes) -> None:
        try:
            event = msgspec.json.decode(data)
        except msgspec.DecodeError:
            return
        if isinstance(event, dict):
            self._deliver(channel.decode()[len(self._prefix) :], event)

    async def stop(self) -> None:
        """Send what is queued (up to 2 s), then stop and disconnect."""
        if self._redis is None:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._outbox.join(), timeout=2)
        for task in self._loops:
            task.cancel()
        for task in self._loops:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._loops = []
        try:
            await self._redis.aclose()
        except Exception as exc:  # Redis already gone: nothing left to close cleanly
            logger.warning("task.events_close_failed", error=type(exc).__name__)
        self._redis = None
