"""Runs one task: the slice's own `run()` in a REQUEST scope, with timeout, retries, events."""

import asyncio
import contextlib
import time
from collections.abc import Coroutine
from datetime import UTC, datetime
from functools import partial
from typing import Any, TypeVar

import msgspec
from dishka import AsyncContainer
from sqlalchemy import Executable

from center_api.cache.results import ResultCache
from center_api.core.errors import AppException
from center_api.core.logging import get_logger
from center_api.core.progress import TaskPaused, TaskProgress, bind_progress, unbind_progress
from center_api.core.request_facts import (
    bind_request_facts,
    current_request_facts,
    note_uncharged,
)
from center_api.core.settings import FetchSettings, TaskSettings
from center_api.db.models import ProcessingTask
from center_api.registry.loader import SliceRegistry
from center_api.registry.spec import SliceResult
from center_api.tasks.batches import refresh_batch
from center_api.tasks.callbacks import send_callback
from center_api.tasks.domain import TaskStatus, backoff_seconds, is_transient
from center_api.tasks.events import TaskEvents
from center_api.tasks.progress import task_progress
from center_api.tasks.queue.port import TaskQueue
from center_api.tasks.results import ResultStore
from center_api.tasks.store import TaskStore, quota_refund
from center_api.usage.recorder import UsageRecord, outcome_of, usage_insert

logger = get_logger("center_api.tasks")
T = TypeVar("T")
# How long a shutdown waits for callback deliveries in flight before dropping them.
CALLBACK_GRACE_S = 2.0


class TaskRunner:
    """The queue's handler. Every state change is guarded in the database."""

    def __init__(  # noqa: PLR0913, PLR0917 - the runner is where these collaborators meet
        self,
        store: TaskStore,
        results: ResultStore,
        queue: TaskQueue,
        registry: SliceRegistry,
        container: AsyncContainer,
        context: "RunnerContext",
    ) -> None:
        self._store, self._results, self._queue = store, results, queue
        self._registry, self._container = registry, container
        self._settings, self._events = context.settings, context.events
        self._fetch = context.fetch
        self.running: dict[str, asyncio.Task[Any]] = {}
        # The runs' progress reporters: a pause asked for through any process lands here.
        self.progress: dict[str, TaskProgress] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def handle(self, task_id: str) -> None:
        """Run ``task_id`` if it is still PENDING (cancelled or paused ones are skipped).

        A shutdown (the queue cancelling this coroutine) puts a claimed task back to PENDING
        with its attempt given back; a claim or an outcome already on its way to the database
        is let through first, so no row is left PROCESSING by a graceful stop.
        """
        task = await self._store.get(task_id)
        started, attempt = datetime.now(UTC), task.attempts + 1
        progress = task_progress(task, self._store, self._events)
        self.progress[task_id] = progress  # before the claim: a pause right after it is heard
        try:
            await self._claim_and_run(task, started, attempt, progress)
        finally:
            if self.progress.get(task_id) is progress:
                del self.progress[task_id]

    async def _claim_and_run(
        self, task: ProcessingTask, started: datetime, attempt: int, progress: TaskProgress
    ) -> None:
        task_id = str(task.id)
        claim = asyncio.ensure_future(
            self._store.transition(
                task_id,
                TaskStatus.PROCESSING,
                only_from={TaskStatus.PENDING},
                started_at=started,
                heartbeat_at=started,
                attempts=attempt,
                progress=10,
                error_code=None,
                error_message=None,
            )
        )
        try:
            claimed = await asyncio.shield(claim)
        except asyncio.CancelledError:  # stopped mid-claim: wait for it, and undo it if it landed
            if await claim:
                await self._on_cancelled(task, attempt)
            raise
        if not claimed:
            return
        current = asyncio.current_task()
        assert current is not None  # always inside a task
        self.running[task_id] = current  # from now on a cancel event can stop it
        heartbeat = asyncio.get_running_loop().create_task(self._beat(task_id, attempt))
        try:
            await self._attempt(task, attempt, progress)
        except asyncio.CancelledError:
            await self._on_cancelled(task, attempt)
            raise
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
            self.running.pop(task_id, None)

    async def _attempt(self, task: ProcessingTask, attempt: int, progress: TaskProgress) -> None:
        """Run the claimed ``attempt`` and record its outcome (success, failure or retry)."""
        task_id = str(task.id)
        logger.info("task.started", task_id=task_id, tool=task.tool, attempt=attempt)
        # A pause asked for since the claim stands (this event must not withdraw it).
        asked = progress.pause_requested
        self.publish(task_id, TaskStatus.PAUSING if asked else TaskStatus.PROCESSING, 10)
        await self._refresh_parent(task)
        begin = time.perf_counter()
        facts = bind_request_facts()
        facts.caller = task.caller
        # Read from the input's header at submission: the kernel's memory estimate for the job.
        # A video's charge is all its frames: each frame's job is estimated from its own size.
        entry = self._registry.get(task.tool)
        is_video = (
            entry is not None and entry.slice is not None and entry.slice.capabilities.accepts_video
        )
        facts.megapixels = None if is_video else (task.reserved_megapixels or None)
        token = bind_progress(progress)  # the run's task (wait_for) copies this context
        try:
            result = await asyncio.wait_for(self._run(task), task.timeout_s or None)
        except TaskPaused as paused:
            outcome = self._on_paused(task, attempt, paused)
        except Exception as exc:  # every failure is recorded on the task
            outcome = self._on_failure(task, attempt, exc, time.perf_counter() - begin)
        else:
            outcome = self._on_success(task, attempt, result, time.perf_counter() - begin)
        finally:
            unbind_progress(token)
        await _uninterrupted(outcome)

    async def _beat(self, task_id: str, attempt: int) -> None:
        """Touch the row every ``heartbeat_s`` so other processes know this worker is alive."""
        while True:
            await asyncio.sleep(self._settings.heartbeat_s)
            try:
                await self._store.touch(task_id, attempt)
            except Exception:  # a missed beat is retried next time; never fail the task for it
                logger.warning("task.heartbeat_failed", task_id=task_id, exc_info=True)

    async def _run(self, task: ProcessingTask) -> SliceResult:
        entry = self._registry.get(task.tool)
        if entry is None or entry.slice is None or not entry.is_mounted:
            raise AppException(f"The tool {task.tool!r} is no longer enabled here.")
        image = await self._results.get(task.input_ref or "")
        if image is None:
            raise AppException("The task's input is gone (expired or deleted).")
        facts = current_request_facts()
        if facts is not None:
            facts.input_bytes = len(image)
        options = msgspec.convert(task.options, entry.slice.options_type)
        async with self._container() as scope:
            cache = await scope.get(ResultCache)
            key = cache.task_key(entry.slice, image, options)
            result, outcome = await cache.through(
                key, partial(entry.slice.run, scope, image, options)
            )
            if outcome == "HIT" and not cache.settings.charge_hits:
                note_uncharged()  # its reservation goes back when it completes
            return result

    async def _on_success(
        self, task: ProcessingTask, attempt: int, result: SliceResult, seconds: float
    ) -> None:
        task_id = str(task.id)
        # One key per attempt: a stale attempt that loses the race deletes only its own bytes.
        key = f"results/{task_id}-{attempt}"
        await self._results.put(key, result.content)
        try:
            moved = await self._store.transition(
                task_id,
                TaskStatus.COMPLETED,
                attempt=attempt,
                also=[self._usage(task, 200, None, seconds, result), *_refund_if_free(task)],
                progress=100,
                result_ref=key,
                result_media_type=result.media_type,
                finished_at=datetime.now(UTC),
            )
        except BaseException:  # database down: no row points at the bytes, so no orphan
            await _delete_quietly(self._results, key)
            raise
        if not moved:  # cancelled while running, or a newer attempt owns the task
            await self._results.delete(key)
            return
        await self._finish(task, TaskStatus.COMPLETED)

    async def _on_failure(
        self, task: ProcessingTask, attempt: int, error: BaseException, seconds: float
    ) -> None:
        task_id = str(task.id)
        code = error.code if isinstance(error, AppException) else "INTERNAL_ERROR"
        message = error.message if isinstance(error, AppException) else "Internal error."
        if isinstance(error, TimeoutError):
            code, message = "TASK_TIMEOUT", f"The task took longer than {task.timeout_s or 0:g} s."
        if not isinstance(error, AppException | TimeoutError):
            logger.exception("task.crashed", task_id=task_id, exc_info=error)
        status = error.status_code if isinstance(error, AppException) else 500
        # The failed attempt's usage row goes in with the move that ends the attempt.
        usage = self._usage(task, status, code, seconds, None)
        if is_transient(error) and attempt < task.max_attempts:
            if await self._store.transition(
                task_id, TaskStatus.PENDING, attempt=attempt, also=[usage], progress=0
            ):
                delay = backoff_seconds(attempt, self._settings.retry_backoff_s)
                logger.warning("task.retry", task_id=task_id, attempt=attempt, code=code)
                self.publish(task_id, TaskStatus.PENDING, 0)
                await self._queue.enqueue(task_id, task.priority, delay_s=delay)
            return
        if await self._store.transition(
            task_id,
            TaskStatus.FAILED,
            attempt=attempt,
            also=[*quota_refund(task), usage],
            error_code=code,
            error_message=message,
            finished_at=datetime.now(UTC),
        ):
            await self._finish(task, TaskStatus.FAILED)

    async def _on_cancelled(self, task: ProcessingTask, attempt: int) -> None:
        """Shutdown (not a user cancel): give the attempt back and leave it for the queue.

        After a user cancel the row is CANCELLED and this changes nothing.
        """
        task_id = str(task.id)
        moved = await _uninterrupted(
            self._store.transition(
                task_id, TaskStatus.PENDING, attempt=attempt, progress=0, attempts=task.attempts
            )
        )
        if moved:
            logger.info("task.requeued_on_stop", task_id=task_id)
            self.publish(task_id, TaskStatus.PENDING, 0)
            return
        # Asked to pause: it stops here as well, and resumes from its last stored checkpoint.
        await self._hold(task, attempt)

    async def _on_paused(self, task: ProcessingTask, attempt: int, paused: TaskPaused) -> None:
        """The run stopped at a checkpoint because a pause was asked for: PAUSING → PAUSED.

        The attempt is given back (a pause is no failure). If a resume came first (the row is
        PROCESSING again), the run goes back to the queue and continues from the checkpoint.
        """
        task_id = str(task.id)
        saved: dict[str, Any] = {
            "checkpoint_position": paused.position,
            "checkpoint_state": paused.state,
        }
        if await self._hold(task, attempt, **saved):
            return
        if await self._store.transition(
            task_id, TaskStatus.PENDING, attempt=attempt, attempts=task.attempts, **saved
        ):
            self.publish(task_id, TaskStatus.PENDING, None)
            await self._queue.enqueue(task_id, task.priority)

    async def _hold(self, task: ProcessingTask, attempt: int, **saved: Any) -> bool:
        """PAUSING → PAUSED with the attempt given back; True if it moved."""
        task_id = str(task.id)
        moved = await self._store.transition(
            task_id, TaskStatus.PAUSED, attempt=attempt, attempts=task.attempts, **saved
        )
        if moved:
            logger.info("task.paused", task_id=task_id, position=saved.get("checkpoint_position"))
            self.publish(task_id, TaskStatus.PAUSED, None)
            await self._refresh_parent(task)
        return moved

    async def _finish(self, task: ProcessingTask, status: TaskStatus) -> None:
        logger.info("task.finished", task_id=str(task.id), status=status.value)
        self.publish(str(task.id), status, 100 if status == TaskStatus.COMPLETED else None)
        await self._refresh_parent(task)
        if task.callback_url:
            callback = send_callback(
                self._store, str(task.id), task.callback_url, self._fetch, self._settings
            )
            delivery = asyncio.get_running_loop().create_task(callback)
            self._background.add(delivery)  # held until done, then dropped
            delivery.add_done_callback(self._background.discard)

    async def _refresh_parent(self, task: ProcessingTask) -> None:
        if task.parent_id is not None:
            await refresh_batch(self._store, self._events, str(task.parent_id))

    def publish(self, task_id: str, status: TaskStatus, progress: int | None) -> None:
        """Tell subscribers of ``task_id``."""
        event: dict[str, Any] = {"id": task_id, "status": status.value}
        if progress is not None:
            event["progress"] = progress
        self._events.publish(task_id, event)

    @staticmethod
    def _usage(
        task: ProcessingTask,
        status: int,
        code: str | None,
        seconds: float,
        result: SliceResult | None,
    ) -> Executable:
        """The INSERT of this attempt's usage row (run with the transition that ends it)."""
        facts = current_request_facts()
        model = result.metadata.get("model") if result is not None else None
        record = UsageRecord(
            tool=task.tool,
            caller=task.caller,
            outcome=outcome_of(status),
            status_code=status,
            duration_ms=round(seconds * 1000, 2),
            error_code=code,
            megapixels=facts.megapixels if facts else None,
            input_bytes=facts.input_bytes if facts else None,
            output_bytes=len(result.content) if result is not None else None,
            task_id=str(task.id),
            model=str(model)[:128] if model else None,
        )
        return usage_insert(record)

    async def stop(self, grace_s: float = CALLBACK_GRACE_S) -> None:
        """Give callback deliveries in flight ``grace_s`` to end, then cancel the rest.

        A delivery waiting between retries would otherwise hold the shutdown for up to
        ``webhook_max_total_s``; the dropped ones are counted in the log.
        """
        deliveries = set(self._background)
        if not deliveries:
            return
        _, unfinished = await asyncio.wait(deliveries, timeout=grace_s)
        for delivery in unfinished:
            delivery.cancel()
        await asyncio.gather(*unfinished, return_exceptions=True)
        if unfinished:
            logger.warning("task.callbacks_dropped", count=len(unfinished))


class RunnerContext(msgspec.Struct, frozen=True):
    """Settings and the event sink the runner reports to."""

    settings: TaskSettings
    fetch: FetchSettings
    events: TaskEvents


async def _uninterrupted(step: Coroutine[Any, Any, T]) -> T:
    """Await ``step`` to its end even if the caller is cancelled meanwhile, then re-raise.

    A state change on its way to the database is let through: a shutdown never leaves half
    of it (a claim without its run, a result without its row) for recovery to guess about.
    """
    future = asyncio.ensure_future(step)
    try:
        return await asyncio.shield(future)
    except asyncio.CancelledError:
        await future
        raise


async def _delete_quietly(results: ResultStore, key: str) -> None:
    try:
        await results.delete(key)
    except Exception:  # storage trouble too: the result sweep removes it later
        logger.warning("task.result_cleanup_failed", key=key, exc_info=True)


def _refund_if_free(task: ProcessingTask) -> list[Executable]:
    """The reservation's refund when the run was free (a cache hit, ``charge_hits = false``)."""
    facts = current_request_facts()
    return quota_refund(task) if facts is not None and not facts.is_charged else []
