"""The runner's side of `core.progress`: where a running task's reports and checkpoints go.

A report becomes an event for the task's watchers (SSE, WebSocket) at once, and the row's
``progress``/``stage`` at most every ``SAVE_EVERY_S``. A checkpoint is written to the row on
the first one of a run (it marks the run as pausable) and then at most every ``SAVE_EVERY_S``
(a crashed or retried run resumes from the last one written; a position and its state are
always written together, so any written pair is a valid place to resume from).
"""

import time
from typing import Any

from center_api.core.progress import TaskProgress
from center_api.db.models import ProcessingTask
from center_api.tasks.domain import TaskStatus
from center_api.tasks.events import TaskEvents
from center_api.tasks.store import TaskStore

SAVE_EVERY_S = 2.0
# Claimed tasks show 10 %, finished ones 100 %; a report maps 0..1 into what lies between.
FIRST, LAST = 10, 99


def progress_percent(fraction: float) -> int:
    """The row's progress (10..99) for ``fraction`` (0..1) of a running task's work."""
    return FIRST + round(fraction * (LAST - FIRST))


def task_progress(task: ProcessingTask, store: TaskStore, events: TaskEvents) -> TaskProgress:
    """A `TaskProgress` for ``task``'s run, resuming from its stored checkpoint if it has one."""
    task_id = str(task.id)
    saved = {"report": -SAVE_EVERY_S, "checkpoint": -SAVE_EVERY_S}
    progress: TaskProgress

    async def on_report(fraction: float, stage: str | None) -> None:
        percent = progress_percent(fraction)
        status = TaskStatus.PAUSING if progress.pause_requested else TaskStatus.PROCESSING
        event: dict[str, Any] = {"id": task_id, "status": status.value, "progress": percent}
        if stage is not None:
            event["stage"] = stage[:64]
        events.publish(task_id, event)
        now = time.monotonic()
        if now - saved["report"] >= SAVE_EVERY_S:
            saved["report"] = now
            await store.set_fields(task_id, progress=percent, stage=event.get("stage"))

    async def on_checkpoint(position: int, state: dict[str, Any] | None) -> None:
        now = time.monotonic()
        if progress.checkpoints == 1 or now - saved["checkpoint"] >= SAVE_EVERY_S:
            saved["checkpoint"] = now
            await store.set_fields(task_id, checkpoint_position=position, checkpoint_state=state)

    progress = TaskProgress(
        task_id,
        resume_position=task.checkpoint_position or 0,
        resume_state=task.checkpoint_state,
        on_report=on_report,
        on_checkpoint=on_checkpoint,
    )
    return progress
