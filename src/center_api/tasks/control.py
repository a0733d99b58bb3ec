"""Control: cancel, pause and resume tasks (a batch's children with it)."""

from datetime import UTC, datetime
from typing import Any

from center_api.db.models import ProcessingTask
from center_api.tasks.domain import TERMINAL, TaskStatus, check_transition
from center_api.tasks.parts import TaskParts
from center_api.tasks.runner import refresh_batch
from center_api.tasks.store import quota_refund


class TaskControl:
    """Moves tasks between states on a caller's request; every move is guarded in the database."""

    def __init__(self, parts: TaskParts) -> None:
        self.store, self.queue, self.events = parts.store, parts.queue, parts.events

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
