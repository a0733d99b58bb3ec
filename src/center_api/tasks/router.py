"""Task HTTP routes: submit (one or a batch), list, status, result, events, control; stats."""

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

import msgspec
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, delete, get, post, put
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.handlers import HTTPRouteHandler
from litestar.params import Body, FromPath, FromQuery, QueryParameter
from litestar.response import ServerSentEvent, ServerSentEventMessage
from msgspec import Meta

from center_api.auth.access import ADMIN_ONLY
from center_api.auth.keys import Principal
from center_api.core.errors import MissingSourceError, ValidationError
from center_api.core.settings import Settings
from center_api.http.bodies import AnyBodyOperation, accept_any_body
from center_api.http.paging import MAX_OFFSET
from center_api.http.sources import decode_base64_image, image_form, options_of, read_image_source
from center_api.kernel.kernel import InferenceKernel
from center_api.tasks import ratings
from center_api.tasks.control import TaskControl
from center_api.tasks.schemas import TaskPage, TaskSubmitOptions, TaskView, task_view
from center_api.tasks.service import TaskService
from center_api.tasks.sockets import task_socket, tasks_socket, token_answer
from center_api.tasks.store import canonical_task_id, validate_page
from center_api.tasks.submit import Submission

TaskForm = image_form(TaskSubmitOptions, "TaskForm")
STARTED = time.monotonic()


class BatchForm(TaskSubmitOptions, kw_only=True, forbid_unknown_fields=True):
    """A batch: one tool and its options, many images (repeat the `files` field)."""

    files: list[UploadFile] = msgspec.field(default_factory=list)
    images_b64: Annotated[str, Meta(description="JSON list of base64 images.")] | None = None


def _submission(
    form: TaskSubmitOptions, images: list[bytes], names: tuple[str | None, ...], owner: str
) -> Submission:
    try:
        options = msgspec.json.decode(form.options or "{}")
    except (msgspec.DecodeError, RecursionError) as exc:  # deep nesting exhausts the decoder
        raise ValidationError(
            "options must be a JSON object.", details={"field": "options"}
        ) from exc
    if not isinstance(options, dict):
        raise ValidationError("options must be a JSON object.", details={"field": "options"})
    return Submission(
        tool=form.tool,
        options=options,
        images=images,
        names=names,
        priority=form.priority,
        timeout_s=form.timeout_s,
        callback_url=form.callback_url,
        caller=owner,
    )


def _base64_list(text: str) -> list[str]:
    try:
        return msgspec.json.decode(text, type=list[str])
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ValidationError(
            "images_b64 must be a JSON list of base64 strings.", details={"field": "images_b64"}
        ) from exc


async def _view(service: TaskService, task_id: str, caller: Principal) -> TaskView:
    task = await service.store.get(task_id, caller.sees_only)
    return task_view(task, await service.query.children_summary(task_id))


def _accepted(view: TaskView) -> Response[TaskView]:
    return Response(view, status_code=202, headers={"Location": view.links.self})


@post(
    "/",
    summary="Submit a task",
    status_code=202,
    before_request=accept_any_body,  # multipart, urlencoded or JSON, like every image route
    operation_class=AnyBodyOperation,
)
@inject
async def submit(
    data: Annotated[TaskForm, Body(media_type=RequestEncodingType.MULTI_PART)],  # type: ignore[valid-type]
    service: FromDishka[TaskService],
    settings: FromDishka[Settings],
    caller: FromDishka[Principal],
) -> Response[TaskView]:
    """Queue one image for a tool; answers 202 with the task id and links at once."""
    image = await read_image_source(data, settings)
    form = options_of(data, TaskSubmitOptions)
    upload = getattr(data, "file", None)
    name = upload.filename if isinstance(upload, UploadFile) else None
    task = await service.submissions.submit(_submission(form, [image], (name,), caller.owner))
    return _accepted(await _view(service, str(task.id), caller))


@post("/batch", summary="Submit a batch", status_code=202)
@inject
async def submit_batch(
    data: Annotated[BatchForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    service: FromDishka[TaskService],
    settings: FromDishka[Settings],
    caller: FromDishka[Principal],
) -> Response[TaskView]:
    """Queue many images for one tool: a parent task with one child per image."""
    limit, max_bytes = settings.tasks.max_batch, settings.images.max_bytes
    images = [await upload.read(max_bytes + 1) for upload in data.files]
    names: list[str | None] = [upload.filename for upload in data.files]
    if data.images_b64:
        texts = _base64_list(data.images_b64)
        images += [decode_base64_image(text, max_bytes) for text in texts]
        names += [None] * len(texts)
    if not images:
        raise MissingSourceError("A batch needs images: repeat the `files` field.")
    if len(images) > limit:
        raise ValidationError(f"A batch holds at most {limit} images.", details={"max": limit})
    if any(len(image) > max_bytes for image in images):
        raise ValidationError("An image of the batch is over the byte limit.")
    form = options_of(data, TaskSubmitOptions)
    task = await service.submissions.submit(_submission(form, images, tuple(names), caller.owner))
    return _accepted(await _view(service, str(task.id), caller))


@get("/", summary="List tasks")
@inject
async def list_tasks(  # noqa: PLR0913, PLR0917 - one argument per query parameter
    service: FromDishka[TaskService],
    caller: FromDishka[Principal],
    status: FromQuery[str | None] = None,
    tool: FromQuery[str | None] = None,
    limit: Annotated[int, QueryParameter(ge=1, le=500)] = 50,
    offset: Annotated[int, QueryParameter(ge=0, le=MAX_OFFSET)] = 0,
) -> TaskPage:
    """The caller's tasks (an admin: everyone's), newest first, filtered by status and tool."""
    validate_page(limit, offset)
    filters: dict[str, Any] = {k: v for k, v in (("status", status), ("tool", tool)) if v}
    rows, total = await service.store.find(filters, limit, offset, caller.sees_only)
    return TaskPage(items=[task_view(r) for r in rows], total=total, limit=limit, offset=offset)


@get("/{task_id:str}", summary="Task status")
@inject
async def get_task(
    task_id: FromPath[str], service: FromDishka[TaskService], caller: FromDishka[Principal]
) -> TaskView:
    """Status, progress, timings, attempts, error."""
    task_id = canonical_task_id(task_id)
    return await _view(service, task_id, caller)


@get("/{task_id:str}/result", summary="Task result")
@inject
async def get_result(
    task_id: FromPath[str], service: FromDishka[TaskService], caller: FromDishka[Principal]
) -> Response[bytes]:
    """The result bytes, named after the upload (a batch: a zip with a manifest)."""
    task_id = canonical_task_id(task_id)
    data, media_type, name = await service.query.result(task_id, caller.sees_only)
    headers = {"Content-Disposition": _attachment(name)}
    return Response(data, media_type=media_type, headers=headers)


def _attachment(name: str) -> str:
    """A Content-Disposition for ``name``: ASCII ``filename``, and ``filename*`` if need be."""
    plain = name.encode("ascii", "replace").decode().replace("?", "_")
    if plain == name:
        return f'attachment; filename="{name}"'
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(name, safe='')}"


@get("/{task_id:str}/events", summary="Task progress (server-sent events)")
@inject
async def task_events(
    task_id: FromPath[str], service: FromDishka[TaskService], caller: FromDishka[Principal]
) -> ServerSentEvent:
    """Status and progress changes as SSE (``task`` events), ending at a terminal state.

    A stopping server ends the stream with a ``shutdown`` event: the task's state then.
    """
    task_id = canonical_task_id(task_id)
    await service.store.get(task_id, caller.sees_only)  # 404 before the stream starts

    async def stream() -> AsyncIterator[ServerSentEventMessage]:
        async for event in service.query.watch(task_id):
            data = msgspec.json.encode(event.data).decode()
            yield ServerSentEventMessage(data=data, event=event.name)

    return ServerSentEvent(stream())


def _control_route(
    route: Callable[[Callable[..., Any]], HTTPRouteHandler],
    move: Callable[[TaskControl, str, str | None], Awaitable[object]],
    name: str,
) -> HTTPRouteHandler:
    """A route that moves one task (``move``: cancel, pause or resume) and answers its view."""

    async def handler(
        task_id: FromPath[str], service: FromDishka[TaskService], caller: FromDishka[Principal]
    ) -> TaskView:
        task_id = canonical_task_id(task_id)
        await move(service.control, task_id, caller.sees_only)
        return await _view(service, task_id, caller)

    handler.__name__ = handler.__qualname__ = name
    return route(inject(handler))


# Cancel: a pending, paused or running task; pause: PENDING → PAUSED; resume: PAUSED → PENDING.
cancel_task = _control_route(
    delete("/{task_id:str}", summary="Cancel a task", status_code=200),
    TaskControl.cancel,
    "cancel_task",
)
pause_task = _control_route(
    put("/{task_id:str}/pause", summary="Pause a pending task"), TaskControl.pause, "pause_task"
)
resume_task = _control_route(
    put("/{task_id:str}/resume", summary="Resume a paused task"), TaskControl.resume, "resume_task"
)


@post("/{task_id:str}/ws-token", summary="A short-lived token for the task's WebSocket")
@inject
async def socket_token(
    task_id: FromPath[str],
    service: FromDishka[TaskService],
    settings: FromDishka[Settings],
    caller: FromDishka[Principal],
) -> dict[str, Any]:
    """For browsers (no headers on a WebSocket): ``?token=`` admits the socket for 60 s."""
    task_id = canonical_task_id(task_id)
    await service.store.get(task_id, caller.sees_only)  # 404 for another owner's task
    return token_answer(task_id, caller, settings)


@get("/stats", summary="System statistics (admin)", tags=["system"], opt=ADMIN_ONLY)
@inject
async def stats(
    request: Request[Any, Any, Any],
    service: FromDishka[TaskService],
    kernel: FromDishka[InferenceKernel],
) -> dict[str, Any]:
    """Queue depth, running tasks, per-status counts, loaded models, uptime."""
    return {
        "queue_depth": service.queue.depth(),
        "running_tasks": len(service.runner.running),
        "tasks_by_status": await service.store.count_by_status(),
        "inference": {"running": kernel.scheduler.active, "waiting": kernel.scheduler.waiting},
        "loaded_models": kernel.sessions.loaded(),
        "uptime_s": round(time.monotonic() - STARTED, 1),
    }


def build_routes() -> list[Router | HTTPRouteHandler]:
    """Everything the task system mounts under the API prefix: /tasks, stats, ratings."""
    return [stats, *ratings.ROUTES, build_router()]


def build_router() -> Router:
    """Routes under /tasks (stats is mounted beside it, under the API prefix)."""
    handlers = [
        submit,
        submit_batch,
        list_tasks,
        get_task,
        get_result,
        task_events,
        socket_token,
        task_socket,
        tasks_socket,
        cancel_task,
        pause_task,
        resume_task,
    ]
    return Router(path="/tasks", route_handlers=handlers, tags=["tasks"])
