"""In-process queue adapter: a priority heap and a few worker coroutines (single node)."""

import asyncio
import contextlib
import itertools

from center_api.core.logging import get_logger
from center_api.tasks.queue.port import TaskHandler

logger = get_logger("center_api.tasks.queue")


class LocalTaskQueue:
    """Higher priority first, FIFO within a priority; ``workers`` handlers run at once."""

    is_shared = False

    def __init__(self, workers: int) -> None:
        """Create an idle queue; `start` launches the workers inside the running loop."""
        self._workers = workers
        self._queue: asyncio.PriorityQueue[tuple[int, int, str]] | None = None
        self._order = itertools.count()
        self._tasks: list[asyncio.Task[None]] = []
        self._timers: set[asyncio.Task[None]] = set()

    async def enqueue(self, task_id: str, priority: int, delay_s: float = 0.0) -> None:
        """Schedule ``task_id``."""
        if delay_s > 0:
            timer = asyncio.get_running_loop().create_task(self._later(task_id, priority, delay_s))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)
            return
        self._ensure_queue().put_nowait((-priority, next(self._order), task_id))

    async def _later(self, task_id: str, priority: int, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self.enqueue(task_id, priority)

    def depth(self) -> int:
        """Ids waiting."""
        return self._queue.qsize() if self._queue is not None else 0

    def _ensure_queue(self) -> asyncio.PriorityQueue[tuple[int, int, str]]:
        if self._queue is None:
            self._queue = asyncio.PriorityQueue()
        return self._queue

    async def start(self, handler: TaskHandler) -> None:
        """Launch the workers."""
        queue = self._ensure_queue()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._work(queue, handler)) for _ in range(self._workers)]

    async def _work(
        self, queue: asyncio.PriorityQueue[tuple[int, int, str]], handler: TaskHandler
    ) -> None:
        worker = asyncio.current_task()
        while True:
            _, _, task_id = await queue.get()
            # Its own asyncio task, so cancelling one task (DELETE) leaves the worker alive.
            job = asyncio.get_running_loop().create_task(handler(task_id))
            try:
                await job
            except asyncio.CancelledError:
                if worker is not None and worker.cancelling():
                    job.cancel()
                    raise
            except Exception:  # the handler records failures itself; never kill the worker
                logger.exception("task.handler_crashed", task_id=task_id)

    async def stop(self) -> None:
        """Cancel workers and pending timers."""
        for task in [*self._tasks, *self._timers]:
            task.cancel()
        for task in [*self._tasks, *self._timers]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
