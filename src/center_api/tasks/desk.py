"""The task service behind the SDK's `TaskDesk` port (slices queue tasks through it)."""

from typing import Any

from litestar import Response

from center_api.sdk.orders import TaskDesk, TaskOrder
from center_api.tasks.schemas import TaskView, task_view
from center_api.tasks.service import TaskService
from center_api.tasks.submit import Submission


class ServiceTaskDesk(TaskDesk):
    """Submits orders as ``owner`` and answers as ``POST /api/v1/tasks`` does."""

    def __init__(self, service: TaskService, owner: str) -> None:
        """Orders go to ``service`` on behalf of ``owner``."""
        self._service, self._owner = service, owner

    async def submit(self, order: TaskOrder) -> Response[Any]:
        """Queue ``order``; 202 with the task's view and a ``Location`` header."""
        submission = Submission(
            tool=order.tool,
            options=order.options,
            images=order.inputs,
            names=tuple(order.names),
            priority=order.priority,
            timeout_s=order.timeout_s,
            callback_url=order.callback_url,
            caller=self._owner,
            megapixels=tuple(order.megapixels) if order.megapixels is not None else None,
        )
        task = await self._service.submissions.submit(submission)
        task_id = str(task.id)
        view: TaskView = task_view(task, await self._service.query.children_summary(task_id))
        return Response(view, status_code=202, headers={"Location": view.links.self})
