"""The task system's life in one process: start, crash recovery, periodic sweeps, graceful stop."""

import asyncio
import contextlib
from datetime import UTC, datetime, timedelta
from typing import Any

from center_api.core.logging import get_logger
from center_api.core.metrics import Metrics
from center_api.core.settings import Settings
from center_api.tasks.batches import refresh_batch
from center_api.tasks.domain import RUNNING, TaskStatus
from center_api.tasks.gauges import TaskGauges
from center_api.tasks.parts import TaskParts
from center_api.tasks.signals import StopSignals
from center_api.tasks.store import quota_refund

logger = get_logger("center_api.tasks")
# At shutdown, open event streams wait this long for running tasks to be put back to PENDING
# (so their last event says so), and end then anyway.
STREAMS_WAIT_S = 3.0


class TaskLifecycle:
    """Starts delivering work, recovers what a crash left, sweeps, and stops without loss."""

    def __init__(
        self, parts: TaskParts, settings: Settings, metrics: Metrics | None = None
    ) -> None:
        self.store, self.results, self.queue = parts.store, parts.results, parts.queue
        self._gauges = TaskGauges(parts.store, metrics)
        self.runner, self.events, self.streams = parts.runner, parts.events, parts.streams
        self._settings = settings
        self._sweeper: asyncio.Task[None] | None = None
        self._draining: asyncio.Task[None] | None = None
        self._signals = StopSignals(self.begin_shutdown)
        self.events.add_listener(self._steer)
        self.events.add_listener(self._gauges.soon)

    async def start(self) -> None:
        """Start delivering work and recover what a crash left behind.

        Recovery retries while the database is unreachable, so the server still starts. The
        ``api`` role enqueues only: other processes (``worker`` role) consume the shared queue.
        """
        await self.events.start()
        if self._settings.server.role != "api":
            await self.queue.start(self.runner.handle)
        self._sweeper = asyncio.get_running_loop().create_task(self._maintain())
        if self._settings.server.role != "worker":  # HTTP: event streams must hear of a stop
            self._signals.install()

    async def _maintain(self) -> None:
        delay = 1.0
        while True:
            try:
                await self.recover()
                break
            except Exception as exc:  # database or queue unreachable: retry, never give up
                logger.error("tasks.recovery_failed", error=str(exc), retry_in_s=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 60.0)
        await self._gauges.refresh()
        await self._sweep_forever()

    def begin_shutdown(self) -> None:
        """Start stopping: running tasks go back to PENDING, then every event stream ends.

        Called on SIGTERM / SIGINT, before the HTTP server waits for its open connections
        (an event stream would hold it open), and by `stop`. Queued tasks stay PENDING in the
        database and run after a restart.
        """
        if self._draining is None:
            self.streams.stop_prompt()  # WebSockets: the HTTP server is about to close them
            self._draining = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        stopping = asyncio.ensure_future(self._stop_work())
        await asyncio.wait({stopping}, timeout=STREAMS_WAIT_S)
        self.streams.close_all()
        await stopping

    async def _stop_work(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
        await self.queue.stop()

    async def stop(self) -> None:
        """Stop everything this service started.

        Running tasks go back to PENDING, the sweeper stops, event streams end, callbacks in
        flight get a short grace (then are dropped), and the events close.
        """
        self.begin_shutdown()
        assert self._draining is not None
        await self._draining
        await self.runner.stop()
        await self.events.stop()
        self._signals.uninstall()

    def _steer(self, task_id: str, event: dict[str, Any]) -> None:
        """A cancel or pause made through any process reaches the run here, if it runs here.

        A cancel stops the run at once; PAUSING asks it to stop at its next checkpoint, and
        PROCESSING (a resume before it got there) withdraws that.
        """
        status = event.get("status")
        running = self.runner.running.get(task_id)
        if running is not None and status == TaskStatus.CANCELLED.value:
            running.cancel()
        progress = self.runner.progress.get(task_id)
        if progress is not None and status in {TaskStatus.PAUSING, TaskStatus.PROCESSING}:
            progress.request_pause(status == TaskStatus.PAUSING)

    async def recover(self, *, stale_only: bool = False) -> None:
        """PROCESSING rows (a crash) are requeued or failed; PENDING rows are requeued.

        PAUSING rows (a crash while a pause was on its way) become PAUSED.

        On a shared queue a PROCESSING row may be running in another process: only rows whose
        heartbeat is older than ``tasks.stale_after_s`` count as crashed, and the move is
        conditional on that, so of several processes recovering one row only one does.
        ``stale_only`` (the periodic check) leaves PENDING rows alone, since their jobs are
        still in the queue.
        """
        wanted = [*RUNNING] if stale_only else [*RUNNING, TaskStatus.PENDING]
        stale_before = self._stale_before()
        recovered = 0
        # Live PROCESSING rows are filtered out in the query, and the UPDATE checks again.
        for task in await self.store.ids_with_status(wanted, stale_before=stale_before):
            task_id = str(task.id)
            if task.status == TaskStatus.PENDING:
                await self.queue.enqueue(task_id, task.priority)  # a duplicate job is a no-op
                recovered += 1
                continue
            changes: dict[str, Any]
            if task.status == TaskStatus.PAUSING:  # asked to pause: it stays so (resume later)
                target, changes = TaskStatus.PAUSED, {}
            elif task.attempts >= task.max_attempts:
                target, changes = (
                    TaskStatus.FAILED,
                    {
                        "error_code": "WORKER_CRASHED",
                        "error_message": "The worker stopped during the last allowed attempt.",
                        "finished_at": datetime.now(UTC),
                    },
                )
            else:
                target, changes = TaskStatus.PENDING, {"progress": 0}
            refund = quota_refund(task) if target == TaskStatus.FAILED else []
            if not await self.store.transition(
                task_id,
                target,
                attempt=task.attempts,
                stale_before=stale_before,
                also=refund,
                **changes,
            ):
                continue  # alive after all, finished meanwhile, or another process took it
            recovered += 1
            self.events.publish(task_id, {"id": task_id, "status": target.value})
            if target == TaskStatus.PENDING:
                await self.queue.enqueue(task_id, task.priority)
            if task.parent_id:
                await refresh_batch(self.store, self.events, str(task.parent_id))
        if recovered:
            logger.info("tasks.recovered", count=recovered)

    def _stale_before(self) -> datetime | None:
        """Heartbeats older than this are dead workers'; None: every PROCESSING row is dead.

        With the in-process queue nothing else can be running this process's tasks.
        """
        if not self.queue.is_shared:
            return None
        return datetime.now(UTC) - timedelta(seconds=self._settings.tasks.stale_after_s)

    async def _sweep_forever(self) -> None:
        """Every heartbeat: take back dead workers' tasks (shared queues); now and then: expire."""
        settings = self._settings.tasks
        loop = asyncio.get_running_loop()
        next_expiry = loop.time() + settings.sweep_interval_s
        while True:
            await asyncio.sleep(settings.heartbeat_s)
            await self._gauges.refresh()
            if self.queue.is_shared:  # another machine's worker may have died meanwhile
                try:
                    await self.recover(stale_only=True)
                except Exception as exc:  # database or queue down: try again next beat
                    logger.warning("tasks.recovery_failed", error=str(exc))
            if loop.time() >= next_expiry:
                next_expiry = loop.time() + settings.sweep_interval_s
                try:
                    removed = await self.results.sweep(settings.result_ttl_s)
                except Exception:  # storage hiccup: try again next interval, keep the loop
                    logger.exception("tasks.results_sweep_failed")
                    continue
                if removed:
                    logger.info("tasks.results_expired", files=removed)
