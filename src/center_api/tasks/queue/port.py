"""The task queue port: the task service only enqueues ids; adapters deliver them to a handler."""

from collections.abc import Callable, Coroutine
from typing import Any, Protocol

TaskHandler = Callable[[str], Coroutine[Any, Any, None]]


class TaskQueue(Protocol):
    """Delivers task ids to the handler, higher priority first, FIFO within a priority.

    ``is_shared`` is true when other processes consume the same queue: a PROCESSING row may
    then be alive elsewhere, so recovery only takes back rows that are clearly stale.
    """

    is_shared: bool

    async def enqueue(self, task_id: str, priority: int, delay_s: float = 0.0) -> None:
        """Schedule ``task_id`` (after ``delay_s``, for retries)."""

    def depth(self) -> int:
        """Ids waiting to be delivered (this process's view)."""

    async def start(self, handler: TaskHandler) -> None:
        """Begin delivering to ``handler``."""

    async def stop(self) -> None:
        """Stop delivering; in-flight handlers are cancelled and will be recovered."""
