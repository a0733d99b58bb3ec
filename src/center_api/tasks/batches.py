"""A batch's own row follows its children: progress, PAUSING → PAUSED, the terminal status."""

from datetime import UTC, datetime
from typing import Any

from center_api.tasks.domain import RUNNING, TERMINAL, TaskStatus
from center_api.tasks.events import TaskEvents
from center_api.tasks.store import TaskStore


async def refresh_batch(store: TaskStore, events: TaskEvents, parent_id: str) -> None:
    """Recompute a batch's progress and status from its children.

    A paused batch (PAUSING or PAUSED) stays paused while children are left; it is PAUSED once
    no child runs any more (the running ones finish; no new one starts).
    """
    children = await store.children(parent_id)
    if not children:
        return
    progress = round(sum(c.progress for c in children) / len(children))
    statuses = [TaskStatus(c.status) for c in children]
    if not all(s in TERMINAL for s in statuses):
        parent = TaskStatus((await store.get(parent_id)).status)
        if parent in {TaskStatus.PAUSING, TaskStatus.PAUSED}:
            if parent == TaskStatus.PAUSING and not any(s in RUNNING for s in statuses):
                await store.transition(parent_id, TaskStatus.PAUSED)
                parent = TaskStatus.PAUSED
            await store.set_fields(parent_id, progress=progress)
            event = {"id": parent_id, "status": parent.value, "progress": progress}
            events.publish(parent_id, event)
            return
        await store.transition(parent_id, TaskStatus.PROCESSING, only_from={TaskStatus.PENDING})
        await store.set_fields(parent_id, progress=progress)
        events.publish(parent_id, {"id": parent_id, "status": "PROCESSING", "progress": progress})
        return
    if TaskStatus.COMPLETED in statuses:
        target = TaskStatus.COMPLETED
    elif all(s == TaskStatus.CANCELLED for s in statuses):
        target = TaskStatus.CANCELLED
    else:
        target = TaskStatus.FAILED
    # Through PROCESSING (a paused batch whose last children were cancelled: via PENDING).
    await store.transition(parent_id, TaskStatus.PENDING, only_from={TaskStatus.PAUSED})
    await store.transition(parent_id, TaskStatus.PROCESSING, only_from={TaskStatus.PENDING})
    changes: dict[str, Any] = {"progress": 100, "finished_at": datetime.now(UTC)}
    if target == TaskStatus.FAILED:
        changes |= {"error_code": "BATCH_FAILED", "error_message": "Every item failed."}
    await store.transition(parent_id, target, **changes)
    events.publish(parent_id, {"id": parent_id, "status": target.value, "progress": 100})
