"""Control: cancel, pause and resume tasks (a batch's children with it)."""

from datetime import UTC, datetime
from typing import Any

from center_api.core.errors import TaskNotPausableError
from center_api.db.models import ProcessingTask
from center_api.tasks.batches import refresh_batch
from center_api.tasks.domain import TERMINAL, TaskStatus, check_transition
from center_api.tasks.parts import TaskParts
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
        """Hold a task: pending ones at once, running ones at their next checkpoint.

        A batch stops starting children (its pending ones become PAUSED) and is PAUSING until
        the running ones finish, then PAUSED. A running single task with a checkpoint becomes
        PAUSING and PAUSED at its next one; one without cannot stop midway (409). Pausing a
        PAUSING or PAUSED task changes nothing.

        Raises:
            TaskNotPausableError: a running task that has no checkpoint (it will finish first).
        """
        task = await self.store.get(task_id, owner)
        status = TaskStatus(task.status)
        if status in {TaskStatus.PAUSING, TaskStatus.PAUSED}:
            return task
        children = await self.store.children(task_id)
        if children:
            return await self._pause_batch(task, children)
        if status == TaskStatus.PROCESSING and task.checkpoint_position is None:
            raise TaskNotPausableError(
                f"Task {task_id} is processing one image and cannot stop midway; it will finish "
                "first. Cancel it instead, or wait for the result.",
                details={"task_id": task_id, "status": status},
            )
        target = TaskStatus.PAUSING if status == TaskStatus.PROCESSING else TaskStatus.PAUSED
        await self._move(task_id, target)
        self.events.publish(task_id, {"id": task_id, "status": target.value})
        return await self.store.get(task_id)

    async def _pause_batch(
        self, parent: ProcessingTask, children: list[ProcessingTask]
    ) -> ProcessingTask:
        parent_id = str(parent.id)
        if TaskStatus(parent.status) in TERMINAL:
            check_transition(parent_id, TaskStatus(parent.status), TaskStatus.PAUSED)
        for child in children:
            if child.status == TaskStatus.PENDING:
                child_id = str(child.id)
                if await self.store.transition(child_id, TaskStatus.PAUSED):
                    self.events.publish(child_id, {"id": child_id, "status": "PAUSED"})
        # The parent waits for its running children (PAUSING), or is PAUSED at once.
        target = TaskStatus.PAUSING if parent.status == TaskStatus.PROCESSING else TaskStatus.PAUSED
        await self.store.transition(parent_id, target)
        await refresh_batch(self.store, self.events, parent_id)
        return await self.store.get(parent_id)

    async def resume(self, task_id: str, owner: str | None = None) -> ProcessingTask:
        """Continue a paused task (a batch: its paused children) from where it stopped.

        A PAUSED task goes back to the queue and resumes from its checkpoint; a PAUSING one
        that has not reached it yet simply goes on (PROCESSING). Finished children are not run
        again.
        """
        task = await self.store.get(task_id, owner)
        status = TaskStatus(task.status)
        children = await self.store.children(task_id)
        if children:
            if status in {TaskStatus.PAUSING, TaskStatus.PAUSED}:
                back = TaskStatus.PROCESSING if status == TaskStatus.PAUSING else TaskStatus.PENDING
                await self.store.transition(task_id, back)
                self.events.publish(task_id, {"id": task_id, "status": back.value})
            elif status not in {TaskStatus.PROCESSING, TaskStatus.PENDING}:
                check_transition(task_id, status, TaskStatus.PENDING)
            for child in children:
                if child.status == TaskStatus.PAUSED:
                    await self._requeue(child)
            return await self.store.get(task_id)
        if status == TaskStatus.PAUSING:
            await self._move(task_id, TaskStatus.PROCESSING)
            self.events.publish(task_id, {"id": task_id, "status": "PROCESSING"})
        else:
            await self._requeue(task)
        return await self.store.get(task_id)

    async def _requeue(self, task: ProcessingTask) -> None:
        await self._move(str(task.id), TaskStatus.PENDING)
        await self.queue.enqueue(str(task.id), task.priority)
        self.events.publish(str(task.id), {"id": str(task.id), "status": "PENDING"})

    async def _move(self, task_id: str, target: TaskStatus, **changes: Any) -> ProcessingTask:
        task = await self.store.get(task_id)
        check_transition(task_id, TaskStatus(task.status), target)
        refund = quota_refund(task) if target == TaskStatus.CANCELLED else []
        if not await self.store.transition(task_id, target, also=refund, **changes):
            current = await self.store.get(task_id)
            check_transition(task_id, TaskStatus(current.status), target)  # raced: explain
        return task
