"""Progress events: every status/progress change is published to the task's subscribers."""

import asyncio
from collections import defaultdict
from typing import Any


class TaskEvents:
    """In-process pub/sub keyed by task id (the scale-out issue moves this to Redis)."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

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

    def publish(self, task_id: str, event: dict[str, Any]) -> None:
        """Deliver ``event`` to every subscriber (slow ones drop their oldest event)."""
        for queue in list(self._subscribers.get(task_id, ())):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)
