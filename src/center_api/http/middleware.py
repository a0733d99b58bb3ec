"""The outermost ASGI layer: request id, access log, HTTP metrics, last-resort 500 envelope.

It wraps the whole Litestar app (not a per-route middleware), so unknown routes, wrong methods
and errors raised before routing get a request id and a metrics line too.
"""

import re
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
import structlog
from litestar.types import ASGIApp, HTTPResponseStartEvent, Message, Receive, Scope, Send

from center_api.core.logging import get_logger
from center_api.core.metrics import Metrics
from center_api.core.request_facts import RequestFacts, bind_request_facts, note_error
from center_api.core.settings import API_PREFIX

REQUEST_ID_HEADER = "x-request-id"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,127}$")
_QUIET_PATHS = frozenset({"/metrics", f"{API_PREFIX}/metrics", f"{API_PREFIX}/health"})
UNMATCHED_ROUTE = "<unmatched>"
# Any other method is answered 405 here and counted as OTHER: a client cannot mint a new
# metrics series per made-up method.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"

logger = get_logger("center_api.http")


def new_request_id() -> str:
    """Return a fresh request id (``req_`` + 32 hex digits)."""
    return f"req_{uuid.uuid4().hex}"


def client_request_id(scope: Scope) -> str | None:
    """Return the client's ``X-Request-ID`` if it is a safe token, else None."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            return candidate if _VALID_REQUEST_ID.match(candidate) else None
    return None


def request_id_of(scope: Scope) -> str | None:
    """Return the request id this layer assigned to ``scope``."""
    state = scope.get("state") or {}
    value = state.get("request_id")
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class RequestOutcome:
    """A finished request, as observers (e.g. usage recording) see it."""

    method: str
    path: str
    route: str
    status_code: int
    duration_s: float
    response_bytes: int
    request_id: str
    facts: RequestFacts
    # The image slice whose route answered (the route's ``tool`` opt), if any.
    tool: str | None = None
    # The model that answered (the response's X-Model header), if the route names one.
    model: str | None = None


RequestObserver = Callable[[RequestOutcome], None]


class RequestContextMiddleware:
    """Assign the request id, bind it to every log line, time and count the request."""

    def __init__(
        self, app: ASGIApp, metrics: Metrics, observers: Sequence[RequestObserver] = ()
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.observers = list(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = client_request_id(scope) or new_request_id()
        scope.setdefault("state", {})["request_id"] = request_id
        facts = bind_request_facts()
        status: dict[str, Any] = {"code": 500, "started": False, "bytes": 0, "model": None}
        header = (REQUEST_ID_HEADER.encode(), request_id.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                headers = [h for h in message.get("headers", []) if h[0].lower() != header[0]]
                message["headers"] = [*headers, header]
                model = next((v for k, v in headers if k.lower() == b"x-model"), None)
                status["model"] = model.decode("latin-1")[:128] if model else None
            elif message["type"] == "http.response.body":
                status["bytes"] += len(message.get("body", b""))
            await send(message)

        start = time.perf_counter()
        method = str(scope.get("method", ""))
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                if method in KNOWN_METHODS:
                    await self.app(scope, receive, send_with_id)
                else:
                    method = OTHER_METHOD
                    await _send_error(send_with_id, request_id, _UNKNOWN_METHOD)
            except Exception:
                logger.exception("request.unhandled_exception")
                if not status["started"]:
                    await _send_error(send_with_id, request_id, _INTERNAL)
            finally:
                handler = scope.get("route_handler")
                self._finish(
                    RequestOutcome(
                        method=method,
                        path=scope.get("path", ""),
                        route=scope.get("path_template") or UNMATCHED_ROUTE,
                        status_code=int(status["code"]),
                        duration_s=time.perf_counter() - start,
                        response_bytes=int(status["bytes"]),
                        request_id=request_id,
                        facts=facts,
                        tool=getattr(handler, "opt", {}).get("tool") if handler else None,
                        model=status["model"],
                    )
                )

    def _finish(self, outcome: RequestOutcome) -> None:
        method, route = outcome.method, outcome.route
        self.metrics.http_requests_total.labels(method, route, str(outcome.status_code)).inc()
        self.metrics.http_request_duration_seconds.labels(method, route).observe(outcome.duration_s)
        log = logger.debug if outcome.path in _QUIET_PATHS else logger.info
        log(
            "request.completed",
            method=method,
            path=outcome.path,
            route=route,
            status=outcome.status_code,
            duration_ms=round(outcome.duration_s * 1000, 2),
        )
        for observer in self.observers:
            try:
                observer(outcome)
            except Exception:  # an observer must never break the response path
                logger.exception("request.observer_failed")


_INTERNAL = (500, "INTERNAL_ERROR", "Internal server error.")
_UNKNOWN_METHOD = (405, "METHOD_NOT_ALLOWED", "This HTTP method is not supported.")


async def _send_error(send: Send, request_id: str, error: tuple[int, str, str]) -> None:
    """Answer the error envelope from outside Litestar (last resort, unknown methods)."""
    status, code, message = error
    note_error(code)
    body: dict[str, Any] = {
        "success": False,
        "error": {"code": code, "message": message, "details": {}},
        "request_id": request_id,
    }
    payload = msgspec.json.encode(body)
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(payload)).encode()),
        ],
    }
    await send(start)
    await send({"type": "http.response.body", "body": payload, "more_body": False})
