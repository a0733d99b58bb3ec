"""Reading: a batch's summary, a finished task's result, a task's event stream."""

from collections.abc import AsyncIterator

from center_api.core.errors import BusinessRuleViolationError, ResourceNotFoundError
from center_api.tasks.archive import batch_zip, result_name
from center_api.tasks.domain import TaskStatus
from center_api.tasks.parts import TaskParts
from center_api.tasks.streams import StreamEvent


class TaskQuery:
    """What a caller may read about tasks (the rows themselves come from the store)."""

    def __init__(self, parts: TaskParts) -> None:
        self.store, self.results, self.streams = parts.store, parts.results, parts.streams

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

    def watch(self, task_id: str, *, prompt: bool = False) -> AsyncIterator[StreamEvent]:
        """Current state, then every change, ending at a terminal state or at shutdown.

        ``prompt``: end at the first sign of a stop (see `TaskStreams.watch`).
        """
        return self.streams.watch(task_id, prompt=prompt)
