"""Task progress over WebSocket: the same events as the SSE stream, as JSON messages.

``/api/v1/tasks/{id}/ws`` follows one task, ``/api/v1/tasks/ws?ids=a,b,c`` several. Each
message is a JSON object: ``{"event": "task", "id": .., "status": .., "progress": ..,
"stage": ..}`` (the current state first, then every change), or ``{"event": "shutdown", ...,
"message": ..}`` when the server stops. The socket closes (1000) once every task followed has
reached a terminal state, or (1001) on shutdown.

Access is checked before the handshake completes: a key in ``X-API-Key`` /
``Authorization: Bearer``, or ``?token=`` from ``POST /api/v1/tasks/{id}/ws-token`` (browsers
cannot send headers). Refusals close with ``4000 + the HTTP status`` and a reason ``CODE:
message``: 4401 no or bad key/token, 4404 a task that does not exist or is not the caller's,
4422 a malformed id list, 4429 rate limited.
"""

import asyncio
import contextlib
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect, WebSocketException
from litestar.params import FromPath

from center_api.auth.gate import websocket_refusal
from center_api.auth.keys import Principal, principal_of
from center_api.auth.task_tokens import TASK_GRANT, TASK_TOKEN, TTL_S, issue
from center_api.core.errors import AppException, TaskNotFoundError
from center_api.core.settings import API_PREFIX, Settings
from center_api.tasks.service import TaskService
from center_api.tasks.store import canonical_task_id
from center_api.tasks.streams import StreamEvent

MAX_TASKS_PER_SOCKET = 100
SOCKET_OPT = {TASK_TOKEN: True}
_DONE = StreamEvent("done", {})


async def _service(socket: WebSocket[Any, Any, Any]) -> TaskService:
    container = socket.app.state.dishka_container
    service: TaskService = await container.get(TaskService)
    return service


async def _check_access(
    socket: WebSocket[Any, Any, Any], service: TaskService, task_ids: list[str]
) -> None:
    """Every id is a task the caller may see (a token: one it names), else 4404 for all."""
    principal = principal_of(socket.scope) or Principal(key_id=None, role="anonymous")
    granted = (socket.scope.get("state") or {}).get(TASK_GRANT)
    try:
        for task_id in task_ids:
            if granted is not None and task_id not in granted:
                raise TaskNotFoundError(f"No task {task_id!r}.", details={"task_id": task_id})
            await service.store.get(task_id, principal.sees_only)
    except AppException as exc:
        raise websocket_refusal(exc) from exc


async def _follow(socket: WebSocket[Any, Any, Any], service: TaskService, ids: list[str]) -> None:
    """Send every stream's events until all have ended (or the client left)."""
    await _check_access(socket, service, ids)
    await socket.accept()
    out: asyncio.Queue[StreamEvent] = asyncio.Queue()

    async def pump(task_id: str) -> None:
        try:
            async for event in service.query.watch(task_id, prompt=True):
                await out.put(event)
        finally:
            await out.put(_DONE)

    loop = asyncio.get_running_loop()
    pumps = [loop.create_task(pump(task_id)) for task_id in ids]
    gone = loop.create_task(_until_disconnect(socket))
    open_streams, closing = len(ids), False
    try:
        while open_streams:
            take = loop.create_task(out.get())
            await asyncio.wait({take, gone}, return_when=asyncio.FIRST_COMPLETED)
            if not take.done():  # the client left: nothing more to send
                take.cancel()
                return
            event = take.result()
            if event is _DONE:
                open_streams -= 1
                continue
            closing = closing or event.name == "shutdown"
            await socket.send_json({"event": event.name, **event.data})
    finally:
        for task in (*pumps, gone):
            task.cancel()
        await asyncio.gather(*pumps, gone, return_exceptions=True)
    with contextlib.suppress(Exception):  # the client may be gone already
        await socket.close(code=1001 if closing else 1000)


async def _until_disconnect(socket: WebSocket[Any, Any, Any]) -> None:
    """Read (and ignore) what the client sends until it disconnects."""
    with contextlib.suppress(WebSocketDisconnect):
        while True:
            await socket.receive_data(mode="text")


@websocket("/{task_id:str}/ws", opt=SOCKET_OPT)
async def task_socket(socket: WebSocket[Any, Any, Any], task_id: FromPath[str]) -> None:
    """One task's progress (see the module doc for messages and close codes)."""
    try:
        task_id = canonical_task_id(task_id)
    except AppException as exc:
        raise websocket_refusal(exc) from exc
    await _follow(socket, await _service(socket), [task_id])


@websocket("/ws", opt=SOCKET_OPT)
async def tasks_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """Several tasks' progress on one socket: ``?ids=a,b,c`` (at most 100)."""
    raw = [part.strip() for part in socket.query_params.get("ids", "").split(",")]
    try:
        ids = list(dict.fromkeys(canonical_task_id(part) for part in raw if part))
    except AppException as exc:
        raise websocket_refusal(exc) from exc
    if not 1 <= len(ids) <= MAX_TASKS_PER_SOCKET:
        detail = f"VALIDATION_ERROR: ids must name 1..{MAX_TASKS_PER_SOCKET} tasks."
        raise WebSocketException(detail=detail, code=4422)
    await _follow(socket, await _service(socket), ids)


def token_answer(task_id: str, caller: Principal, settings: Settings) -> dict[str, Any]:
    """The token for ``task_id`` as the caller, and the socket's path with it."""
    token = issue((task_id,), caller.owner, caller.role, settings.auth.task_token_secret)
    path = f"{API_PREFIX}/tasks/{task_id}/ws?token={token}"
    return {"token": token, "expires_in_s": TTL_S, "url": path}
