"""SAQ-on-Redis queue adapter: many API and worker processes share one queue (scale-out).

Jobs carry only the task id; the database row is the truth, and the runner's guarded
transitions make a duplicate or late delivery a no-op. Redis SAQ queues have no priorities, so
there is one SAQ queue per priority band (``high`` > 0, ``normal`` = 0, ``low`` < 0); each
consumer slot polls the bands in that order. Within a band delivery is FIFO (priorities 9 and 1
are both "high"). Delays (retry back-off) use SAQ's scheduled jobs.

A running job is touched every ``JOB_TOUCH_S``; SAQ's sweep (run by every consuming process, at
most once a minute across them) drops a job untouched for ``JOB_HEARTBEAT_S``, so a killed worker
leaves no job behind in Redis. Its *task* is taken back by the database heartbeat
(TaskLifecycle.recover). Should the sweep ever catch a live job (touches failing for a minute), it
only marks the job: this consumer never checks SAQ's abort flag, and at worst a duplicate
delivery follows, which the runner's guarded claim turns into a no-op.
"""

import asyncio
import contextlib
import time
from typing import Any

from saq import Job, Queue
from saq.job import Status

from center_api.core.logging import get_logger
from center_api.tasks.queue.port import TaskHandler

logger = get_logger("center_api.tasks.queue")
FUNCTION = "center_api.task"
BANDS = ("high", "normal", "low")
# A short blocking wait on the higher bands, a longer one on the last: an idle slot costs a few
# Redis calls a second, and new high-priority work waits at most IDLE_WAIT_S.
BAND_WAIT_S = 0.01
IDLE_WAIT_S = 0.5
SCHEDULE_INTERVAL_S = 0.5
JOB_TOUCH_S = 10.0
JOB_HEARTBEAT_S = 60


def band_of(priority: int) -> str:
    """The SAQ queue band of a task priority."""
    if priority > 0:
        return "high"
    return "normal" if priority == 0 else "low"


class SaqTaskQueue:
    """One SAQ queue per priority band on ``url``; ``workers`` consumer slots per process."""

    is_shared = True

    def __init__(self, url: str, name: str, workers: int) -> None:
        """Connect lazily; nothing touches Redis until the first call."""
        self._url, self._name, self._workers = url, name, workers
        self._bands: dict[str, Queue] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._depth = 0

    def _queues(self) -> dict[str, Queue]:
        if not self._bands:  # created inside the running loop (redis clients are loop-bound)
            self._bands = {b: Queue.from_url(self._url, name=f"{self._name}:{b}") for b in BANDS}
        return self._bands

    async def enqueue(self, task_id: str, priority: int, delay_s: float = 0.0) -> None:
        """Add a job for ``task_id`` to its band (scheduled ``delay_s`` later for retries)."""
        queue = self._queues()[band_of(priority)]
        # No SAQ timeout or retries: the runner enforces the task's own timeout and retries.
        job = Job(
            FUNCTION,
            kwargs={"task_id": task_id},
            timeout=0,
            heartbeat=JOB_HEARTBEAT_S,
            retries=1,
            ttl=60,
        )
        if delay_s > 0:
            job.scheduled = int(time.time() + delay_s)
        await queue.enqueue(job)
        await self._refresh_depth()

    def depth(self) -> int:
        """Jobs waiting in all bands, as last counted (shared by every process)."""
        return self._depth

    async def _refresh_depth(self) -> None:
        counts = [await q.count("queued") for q in self._queues().values()]
        self._depth = sum(counts)

    async def start(self, handler: TaskHandler) -> None:
        """Launch the consumer slots and the scheduler of delayed jobs."""
        queues = self._queues()
        for queue in queues.values():
            await queue.connect()
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._consume(handler)) for _ in range(self._workers)]
        self._tasks.append(loop.create_task(self._schedule_forever()))

    async def _schedule_forever(self) -> None:
        """Move due delayed jobs into their queues (SAQ's Worker does this in its upkeep)."""
        while True:
            try:
                for queue in self._queues().values():
                    await queue.schedule()
                    await queue.sweep(abort=0.1)  # a dead worker's job: dropped, not retried
                await self._refresh_depth()
            except Exception:  # Redis hiccup: log, keep going
                logger.exception("task.queue_schedule_failed")
            await asyncio.sleep(SCHEDULE_INTERVAL_S)

    async def _next_job(self) -> Job | None:
        queues = list(self._queues().values())
        for index, queue in enumerate(queues):
            wait = IDLE_WAIT_S if index == len(queues) - 1 else BAND_WAIT_S
            job = await queue.dequeue(timeout=wait)
            if job is not None:
                return job
        return None

    async def _consume(self, handler: TaskHandler) -> None:
        slot = asyncio.current_task()
        while True:
            try:
                job = await self._next_job()
            except Exception:  # Redis unreachable: back off, the jobs stay in Redis
                logger.exception("task.queue_dequeue_failed")
                await asyncio.sleep(1.0)
                continue
            if job is None:
                continue
            # attempts=1 makes the job not retryable: SAQ's sweep drops it instead of re-running.
            # Bookkeeping only: the task runs even if Redis refuses the update.
            with contextlib.suppress(Exception):
                await job.update(status=Status.ACTIVE, started=int(time.time() * 1000), attempts=1)
            task_id = str((job.kwargs or {}).get("task_id", ""))
            # Its own asyncio task, so cancelling one task (DELETE) leaves the slot alive.
            run = asyncio.get_running_loop().create_task(handler(task_id))
            toucher = asyncio.get_running_loop().create_task(self._touch(job, run))
            try:
                await run
            except asyncio.CancelledError:
                if slot is not None and slot.cancelling():
                    run.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await run  # the runner puts the row back to PENDING
                    # Shutdown: hand the job back so another process (or our restart) runs it.
                    with contextlib.suppress(Exception):
                        await asyncio.shield(job.retry("shutdown"))
                    raise
            except Exception:  # the handler records failures itself; never kill the slot
                logger.exception("task.handler_crashed", task_id=task_id)
            finally:
                toucher.cancel()  # and wait: a late touch would re-store the finished job
                with contextlib.suppress(asyncio.CancelledError):
                    await toucher
            await self._finish(job)

    @staticmethod
    async def _touch(job: Job, run: asyncio.Task[None]) -> None:
        """Keep ``job`` fresh in Redis while ``run`` goes on."""
        while not run.done():
            await asyncio.sleep(JOB_TOUCH_S)
            with contextlib.suppress(Exception):  # a missed touch is made up next time
                await job.update()

    @staticmethod
    async def _finish(job: Job) -> None:
        """Drop the job from SAQ: the database row now says what happens next."""
        with contextlib.suppress(Exception):
            await job.finish(Status.COMPLETE)

    async def stop(self) -> None:
        """Cancel the slots (running tasks go back to PENDING) and close the connections."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for queue in self._bands.values():
            try:
                await queue.disconnect()
            except Exception as exc:  # Redis already gone: nothing left to close cleanly
                logger.warning("task.queue_disconnect_failed", error=type(exc).__name__)
        self._bands = {}

    async def purge(self) -> None:
        """Delete every key of this queue's bands (tests; a fresh deployment)."""
        for queue in self._queues().values():
            redis: Any = getattr(queue, "redis", None)
            if redis is not None:
                keys = [
                    key
                    for pattern in (f"saq:{queue.name}:*", f"saq:job:{queue.name}:*")
                    async for key in redis.scan_iter(match=pattern)
                ]
                if keys:
                    await redis.delete(*keys)
