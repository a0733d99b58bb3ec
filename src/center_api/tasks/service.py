"""The task service: submit, inspect, cancel, pause, resume, fetch results, watch events."""

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from uuid_utils.compat import uuid7

from center_api.auth.key_store import ApiKeyStore, is_key_owner
from center_api.core.errors import (
    AppException,
    BusinessRuleViolationError,
    FeatureDisabledError,
    ResourceNotFoundError,
    ServiceOverloadedError,
    ValidationError,
)
from center_api.core.logging import get_logger
from center_api.core.outbound.policy import check_url
from center_api.core.settings import Settings
from center_api.db.models import ProcessingTask
from center_api.kernel.imaging import probe_image
from center_api.registry.loader import SliceRegistry
from center_api.registry.spec import Slice
from center_api.tasks.archive import batch_input_name, batch_zip, result_name, safe_name
from center_api.tasks.domain import TERMINAL, TaskStatus, check_transition
from center_api.tasks.events import TaskEvents
from center_api.tasks.queue.port import TaskQueue
from center_api.tasks.results import ResultStore
from center_api.tasks.runner import TaskRunner, refresh_batch
from center_api.tasks.signals import StopSignals
from center_api.tasks.store import TaskStore, quota_refund
from center_api.tasks.streams import StreamEvent, TaskStreams

logger = get_logger("center_api.tasks")
# At shutdown, open event streams wait this long for running tasks to be put back to PENDING
# (so their last event says so), and end then anyway.
STREAMS_WAIT_S = 3.0


@dataclass(frozen=True)
class Submission:
    """One validated submission (the router builds it from the form)."""

    tool: str
    options: dict[str, Any]
    images: list[bytes]
    # The upload's file name of each image (None: base64 or a URL), in the order of ``images``.
    names: tuple[str | None, ...] = ()
    priority: int = 0
    timeout_s: float | None = None
    callback_url: str | None = None
    caller: str = "anonymous"


class TaskService:
    """Owns the task lifecycle on this node; the queue adapter decides where work runs."""

    def __init__(  # noqa: PLR0913, PLR0917 - the composition of the task system
        self,
        store: TaskStore,
        results: ResultStore,
        queue: TaskQueue,
        runner: TaskRunner,
        registry: SliceRegistry,
        settings: Settings,
        events: TaskEvents,
        keys: ApiKeyStore,
    ) -> None:
        self.store, self.results, self.queue, self.runner = store, results, queue, runner
        self._registry, self._settings, self.events = registry, settings, events
        self._keys = keys
        self.streams = TaskStreams(store, events)
        self._sweeper: asyncio.Task[None] | None = None
        self._draining: asyncio.Task[None] | None = None
        self._signals = StopSignals(self.begin_shutdown)
        events.add_listener(self._stop_if_cancelled)

    # --- lifecycle -------------------------------------------------------------------------
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
        await self._sweep_forever()

    def begin_shutdown(self) -> None:
        """Start stopping: running tasks go back to PENDING, then every event stream ends.

        Called on SIGTERM / SIGINT, before the HTTP server waits for its open connections
        (an event stream would hold it open), and by `stop`. Queued tasks stay PENDING in the
        database and run after a restart.
        """
        if self._draining is None:
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

    def _stop_if_cancelled(self, task_id: str, event: dict[str, Any]) -> None:
        """A cancel made through any process stops the run here, if it runs here."""
        running = self.runner.running.get(task_id)
        if running is not None and event.get("status") == TaskStatus.CANCELLED.value:
            running.cancel()

    async def recover(self, *, stale_only: bool = False) -> None:
        """PROCESSING rows (a crash) are requeued or failed; PENDING rows are requeued.

        On a shared queue a PROCESSING row may be running in another process: only rows whose
        heartbeat is older than ``tasks.stale_after_s`` count as crashed, and the move is
        conditional on that, so of several processes recovering one row only one does.
        ``stale_only`` (the periodic check) leaves PENDING rows alone, since their jobs are
        still in the queue.
        """
        wanted = (
            [TaskStatus.PROCESSING] if stale_only else [TaskStatus.PROCESSING, TaskStatus.PENDING]
        )
        stale_before = self._stale_before()
        recovered = 0
        # Live PROCESSING rows are filtered out in the query, and the UPDATE checks again.
        for task in await self.store.ids_with_status(wanted, stale_before=stale_before):
            task_id = str(task.id)
            if task.status == TaskStatus.PENDING:
                await self.queue.enqueue(task_id, task.priority)  # a duplicate job is a no-op
                recovered += 1
                continue
            if task.attempts >= task.max_attempts:
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

    # --- submission ------------------------------------------------------------------------
    async def submit(self, submission: Submission) -> ProcessingTask:
        """Validate, reserve quota, store the input(s), create the row(s), enqueue.

        A batch gets a parent row. The owner's key (if any) reserves one call and the
        megapixels of each image up front; a batch that does not fit is refused whole.

        Raises:
            InsufficientQuotaError: the key's quota does not cover every image.
        """
        spec = self._task_slice(submission.tool)
        options = self._validated_options(spec, submission.options)
        if submission.callback_url:
            await check_url(submission.callback_url, self._settings.fetch)
        await self._check_capacity(len(submission.images))
        sizes = [self._megapixels(image) for image in submission.images]
        if is_key_owner(submission.caller):
            await self._keys.reserve(
                submission.caller, calls=len(sizes), megapixels=round(sum(sizes), 4)
            )
        try:
            parent, children = await self._store_submission(submission, options, sizes)
        except BaseException:
            if is_key_owner(submission.caller):
                await self._keys.release(
                    submission.caller, calls=len(sizes), megapixels=round(sum(sizes), 4)
                )
            raise
        for row in children:
            await self.queue.enqueue(str(row.id), row.priority)
        return parent or children[0]

    async def _store_submission(
        self, submission: Submission, options: dict[str, Any], sizes: list[float]
    ) -> tuple[ProcessingTask | None, list[ProcessingTask]]:
        """The stored rows of a submission: a batch's parent (else None) and the runnable ones.

        If the rows cannot be stored (the database down or read-only), the inputs written
        for them are deleted before the error goes on: no file is left that no row names.
        """
        is_batch = len(sizes) > 1
        parent = self._new_row(submission, options, parent_id=None) if is_batch else None
        children: list[ProcessingTask] = []
        try:
            for index, megapixels in enumerate(sizes):
                row = self._new_row(submission, options, parent_id=parent.id if parent else None)
                row.input_ref = f"inputs/{row.id}"
                row.input_name = _input_name(submission, index, is_batch=is_batch)
                row.reserved_megapixels = megapixels
                children.append(row)
                await self.results.put(row.input_ref, submission.images[index])
            await self.store.add([*([parent] if parent else []), *children])
        except BaseException:
            await self._delete_inputs(children)
            raise
        return parent, children

    async def _delete_inputs(self, rows: list[ProcessingTask]) -> None:
        for row in rows:
            try:
                await self.results.delete(row.input_ref or "")
            except Exception:  # storage trouble too: the result sweep removes it later
                logger.warning("tasks.input_cleanup_failed", key=row.input_ref, exc_info=True)

    def _megapixels(self, image: bytes) -> float:
        """The image's size from its header; 0 for one that is not an image (it will fail)."""
        try:
            width, height = probe_image(image, self._settings.images)
        except AppException:
            return 0.0
        return round(width * height / 1e6, 4)

    def _task_slice(self, tool: str) -> Slice:
        entry = self._registry.get(tool)
        if entry is None or entry.slice is None:
            raise ValidationError(f"No tool named {tool!r}.", details={"tool": tool})
        if not entry.is_mounted:
            raise FeatureDisabledError(f"The {tool!r} feature is disabled on this server.")
        if not (entry.slice.capabilities.supports_tasks and entry.slice.capabilities.accepts_image):
            raise ValidationError(
                f"The tool {tool!r} cannot run as a task.", details={"tool": tool}
            )
        return entry.slice

    @staticmethod
    def _validated_options(spec: Slice, options: dict[str, Any]) -> dict[str, Any]:
        try:
            parsed = msgspec.convert(options, spec.options_type, strict=False)
        except msgspec.ValidationError as exc:
            raise ValidationError(
                f"Invalid options for {spec.name}: {exc}", details={"tool": spec.name}
            ) from exc
        return dict(msgspec.to_builtins(parsed))

    async def _check_capacity(self, adding: int) -> None:
        pending = (await self.store.count_by_status()).get(TaskStatus.PENDING, 0)
        limit = self._settings.tasks.max_pending
        if pending + adding > limit:
            raise ServiceOverloadedError(
                "Too many tasks are waiting; retry shortly.",
                retry_after_s=self._settings.inference.retry_after_s,
                details={"pending": pending, "max_pending": limit},
            )

    def _new_row(
        self, submission: Submission, options: dict[str, Any], parent_id: Any
    ) -> ProcessingTask:
        settings = self._settings.tasks
        return ProcessingTask(
            # Time-ordered ids: a batch's children sort in submission order even when two
            # were created within the same microsecond.
            id=uuid7(),
            tool=submission.tool,
            status=TaskStatus.PENDING.value,
            priority=submission.priority,
            options=options,
            progress=0,
            attempts=0,
            max_attempts=settings.max_attempts,
            timeout_s=submission.timeout_s or settings.default_timeout_s,
            caller=submission.caller,
            callback_url=submission.callback_url,
            parent_id=parent_id,
            expires_at=datetime.now(UTC) + timedelta(seconds=settings.result_ttl_s),
        )

    # --- control ---------------------------------------------------------------------------
    async def cancel(self, task_id: str, owner: str | None = None) -> ProcessingTask:
        """Cancel a pending, paused or running task (and a batch's unfinished children).

        The reservation of what never ran is given back to the owner's key.
        """
        await self.store.get(task_id, owner)
        task = await self._move(task_id, TaskStatus.CANCELLED, finished_at=datetime.now(UTC))
        for child in await self.store.children(task_id):
            if TaskStatus(child.status) not in TERMINAL:
                await self.cancel(str(child.id))
        self.events.publish(task_id, {"id": task_id, "status": TaskStatus.CANCELLED.value})
        if task.parent_id:
            await refresh_batch(self.store, self.events, str(task.parent_id))
        return await self.store.get(task_id)

    async def pause(self, task_id: str, owner: str | None = None) -> ProcessingTask:
        """Hold a pending task (a batch: its pending children)."""
        await self.store.get(task_id, owner)
        children = await self.store.children(task_id)
        if children:
            for child in children:
                if child.status == TaskStatus.PENDING:
                    await self._move(str(child.id), TaskStatus.PAUSED)
            return await self.store.get(task_id)
        await self._move(task_id, TaskStatus.PAUSED)
        self.events.publish(task_id, {"id": task_id, "status": TaskStatus.PAUSED.value})
        return await self.store.get(task_id)

    async def resume(self, task_id: str, owner: str | None = None) -> ProcessingTask:
        """Put a paused task (a batch: its paused children) back in the queue."""
        await self.store.get(task_id, owner)
        children = await self.store.children(task_id)
        targets = [c for c in children if c.status == TaskStatus.PAUSED] if children else []
        for task in targets or ([] if children else [await self.store.get(task_id)]):
            await self._move(str(task.id), TaskStatus.PENDING)
            await self.queue.enqueue(str(task.id), task.priority)
            self.events.publish(str(task.id), {"id": str(task.id), "status": "PENDING"})
        return await self.store.get(task_id)

    async def _move(self, task_id: str, target: TaskStatus, **changes: Any) -> ProcessingTask:
        task = await self.store.get(task_id)
        check_transition(task_id, TaskStatus(task.status), target)
        refund = quota_refund(task) if target == TaskStatus.CANCELLED else []
        if not await self.store.transition(task_id, target, also=refund, **changes):
            current = await self.store.get(task_id)
            check_transition(task_id, TaskStatus(current.status), target)  # raced: explain
        return task

    # --- reading ---------------------------------------------------------------------------
    async def children_summary(self, task_id: str) -> dict[str, int] | None:
        """Status counts of a batch's children (None for a single task)."""
        children = await self.store.children(task_id)
        if not children:
            return None
        counts: dict[str, int] = {"total": len(children)}
        for child in children:
            counts[child.status] = counts.get(child.status, 0) + 1
        return counts

    async def result(self, task_id: str, owner: str | None = None) -> tuple[bytes, str, str]:
        """(bytes, media type, file name) of a completed task.

        A batch gives a zip of its completed children's results and ``manifest.json`` (see
        `batch_zip`), also when some children failed. A single task's file is named after its
        upload, with the result's extension.
        """
        task = await self.store.get(task_id, owner)
        if task.status != TaskStatus.COMPLETED:
            raise BusinessRuleViolationError(
                f"Task {task_id} is {task.status}; only COMPLETED tasks have a result.",
                details={"task_id": task_id, "status": task.status},
            )
        children = await self.store.children(task_id)
        if children:
            return await batch_zip(children, self.results.get), "application/zip", f"{task_id}.zip"
        data = await self.results.get(task.result_ref or "") if task.result_ref else None
        if data is None:
            raise ResourceNotFoundError(f"The result of task {task_id} has expired.")
        media = task.result_media_type or "application/octet-stream"
        return data, media, result_name(task.input_name, media, str(task.id))

    def watch(self, task_id: str) -> AsyncIterator[StreamEvent]:
        """Current state, then every change, ending at a terminal state or at shutdown."""
        return self.streams.watch(task_id)

    async def _sweep_forever(self) -> None:
        """Every heartbeat: take back dead workers' tasks (shared queues); now and then: expire."""
        settings = self._settings.tasks
        loop = asyncio.get_running_loop()
        next_expiry = loop.time() + settings.sweep_interval_s
        while True:
            await asyncio.sleep(settings.heartbeat_s)
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


def _input_name(submission: Submission, index: int, *, is_batch: bool) -> str | None:
    """The stored name of the ``index``-th image: sanitised; in a batch never empty."""
    name = submission.names[index] if index < len(submission.names) else None
    return batch_input_name(name, index) if is_batch else safe_name(name)
