"""Inference slots: at most N CPU-heavy jobs at once, a bounded wait queue, fast overload answers.

Every CPU-heavy step (decode, ONNX Runtime, compositing, encode) runs here, on a thread pool, so
the event loop never does image maths and the machine is never oversubscribed.
"""

import asyncio
import contextvars
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from center_api.core.errors import ServiceOverloadedError
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings

T = TypeVar("T")


class InferenceScheduler:
    """Admission control and slot accounting for CPU jobs."""

    def __init__(self, settings: InferenceSettings, metrics: Metrics) -> None:
        """Create the slots and the thread pool from ``settings``."""
        self.max_concurrent = settings.max_concurrent
        self.queue_max_size = settings.queue_max_size
        self.retry_after_s = settings.retry_after_s
        self._metrics = metrics
        self._slots = asyncio.Semaphore(settings.max_concurrent)
        self._executor = ThreadPoolExecutor(
            max_workers=max(settings.thread_pool_size, settings.max_concurrent),
            thread_name_prefix="inference",
        )
        self.active = 0
        self.waiting = 0

    async def run(self, fn: Callable[[], T], *, label: str = "job") -> T:
        """Run ``fn`` in a slot on the thread pool and return its result.

        Raises:
            ServiceOverloadedError: at once, when every slot is busy and the queue is full.
        """
        if self.active + self.waiting >= self.max_concurrent + self.queue_max_size:
            raise ServiceOverloadedError(
                "The server is at capacity; retry shortly.",
                retry_after_s=self.retry_after_s,
                details={
                    "running": self.active,
                    "waiting": self.waiting,
                    "queue_max_size": self.queue_max_size,
                    "job": label,
                },
            )
        self.waiting += 1
        self._publish()
        try:
            await self._slots.acquire()
        finally:
            self.waiting -= 1
            self._publish()
        self.active += 1
        self._publish()
        context = contextvars.copy_context()
        future = asyncio.get_running_loop().run_in_executor(self._executor, context.run, fn)
        # The slot is given back when the thread finishes, not when the awaiting request goes
        # away: a cancelled client must not let a third job start beside a still-running one.
        future.add_done_callback(self._release)
        return await asyncio.shield(future)

    def _release(self, _: object) -> None:
        self.active -= 1
        self._slots.release()
        self._publish()

    def _publish(self) -> None:
        self._metrics.queue_size.set(self.waiting)
        self._metrics.active_tasks.set(self.active)

    def close(self) -> None:
        """Stop accepting work and let running jobs finish."""
        self._executor.shutdown(wait=True, cancel_futures=True)
