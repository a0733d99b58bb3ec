"""Progress events: every status/progress change is published to the task's subscribers.

`TaskEvents` delivers inside this process. With a shared queue, `RedisTaskEvents`
(events_redis.py) sends every event through Redis so each process sees every task's events:
an event stream opened on any API process follows a task running on any worker, and a cancel
reaches the worker that runs the task.
"""

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import Any

EventListener = Callable[[str, dict[str, Any]], None]


class TaskEvents:
    """In-process pub/sub keyed by task id."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)
        self._listeners: list[EventListener] = []

    def subscribe(self, task_id: str) -> asyncio.Queue[dict[str, Any]]:
        """A queue receiving this task's events from now on."""
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=1000)
        self._subscribers[task_id].add(queue)
        return queue

    def unsubscribe(self, task_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        """Stop delivering to ``queue``."""
        self._subscribers[task_id].discard(queue)
        if not self._subscribers[task_id]:
            del self._subscribers[task_id]

    def has_subscribers(self, task_id: str) -> bool:
        """True while someone watches ``task_id``."""
        return bool(self._subscribers.get(task_id))

    def add_listener(self, listener: EventListener) -> None:
        """Call ``listener(task_id, event)`` for every event of every task (must not block)."""
        self._listeners.append(listener)

    def publish(self, task_id: str, event: dict[str, Any]) -> None:
        """Announce ``event`` of ``task_id``."""
        self._deliver(task_id, event)

    def _deliver(self, task_id: str, event: dict[str, Any]) -> None:
        """Hand ``event`` to the listeners and subscribers (slow ones drop their oldest)."""
        for listener in self._listeners:
            listener(task_id, event)
        for queue in list(self._subscribers.get(task_id, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    async def start(self) -> None:
        """Nothing to connect in process."""

    async def stop(self) -> None:
        """Nothing to close in process."""
