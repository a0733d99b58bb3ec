"""Task API schemas."""

from datetime import datetime
from typing import Annotated, Any

from msgspec import Meta, Struct

from center_api.core.settings import API_PREFIX
from center_api.db.models import ProcessingTask
from center_api.sdk.orders import TaskFields


class TaskSubmitOptions(TaskFields, kw_only=True, forbid_unknown_fields=True):
    """The form fields of a submission besides the image (priority, timeout, callback too)."""

    tool: Annotated[str, Meta(min_length=1, max_length=64, description="Slice name, e.g. cutout.")]
    options: Annotated[
        str, Meta(max_length=10_000, description="The tool's options as a JSON object.")
    ] = "{}"


class TaskError(Struct, kw_only=True):
    """Why a task failed."""

    code: str
    message: str | None


class TaskLinks(Struct, kw_only=True):
    """Where to look next."""

    self: str
    result: str
    events: str


class CallbackDelivery(Struct, kw_only=True):
    """The last delivery of the task's ``callback_url``."""

    status: Annotated[
        str | None,
        Meta(description='The receiver\'s HTTP status ("200"), or "timeout", "error", "refused".'),
    ]
    attempts: int
    at: datetime | None


class TaskView(Struct, kw_only=True):
    """A task as clients see it."""

    id: str
    tool: str
    status: str
    progress: int
    # What a running task says it does ("step 2/3", "frame 120/300"), if it says.
    stage: str | None = None
    priority: int
    attempts: int
    max_attempts: int
    error: TaskError | None
    parent_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    links: TaskLinks
    children: dict[str, int] | None = None
    callback: CallbackDelivery | None = None


class TaskPage(Struct, kw_only=True):
    """A page of tasks."""

    items: list[TaskView]
    total: int
    limit: int
    offset: int


def task_view(task: ProcessingTask, children: dict[str, int] | None = None) -> TaskView:
    """Build the client view of a row."""
    task_id = str(task.id)
    base = f"{API_PREFIX}/tasks/{task_id}"
    return TaskView(
        id=task_id,
        tool=task.tool,
        status=task.status,
        progress=task.progress,
        stage=task.stage,
        priority=task.priority,
        attempts=task.attempts,
        max_attempts=task.max_attempts,
        error=TaskError(code=task.error_code, message=task.error_message)
        if task.error_code
        else None,
        parent_id=str(task.parent_id) if task.parent_id else None,
        created_at=task.created_at,
        started_at=task.started_at,
        finished_at=task.finished_at,
        links=TaskLinks(self=base, result=f"{base}/result", events=f"{base}/events"),
        children=children,
        callback=CallbackDelivery(
            status=task.callback_status, attempts=task.callback_attempts, at=task.callback_at
        )
        if task.callback_url
        else None,
    )


def count_statuses(tasks: list[ProcessingTask]) -> dict[str, Any]:
    """``{"COMPLETED": 3, ...}`` over ``tasks``."""
    counts: dict[str, Any] = {}
    for task in tasks:
        counts[task.status] = counts.get(task.status, 0) + 1
    return counts
