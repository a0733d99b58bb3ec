"""Litestar exception handlers: map every exception onto the error envelope."""

from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    ValidationException,
)
from litestar.status_codes import HTTP_413_REQUEST_ENTITY_TOO_LARGE
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import SQLAlchemyError

from center_api.core import errors
from center_api.core.logging import get_logger
from center_api.core.request_facts import note_error
from center_api.http.middleware import request_id_of

logger = get_logger("center_api.errors")

_MULTIPART_TOO_LARGE = "Request Entity Too Large"


def error_body(exc: errors.AppException, request_id: str | None) -> dict[str, Any]:
    """Return the envelope of DESIGN.md §5 for ``exc``."""
    return {
        "success": False,
        "error": {"code": exc.code, "message": exc.message, "details": exc.details},
        "request_id": request_id,
    }


def error_response(request: Request[Any, Any, Any], exc: errors.AppException) -> Response[Any]:
    """Build the JSON error response for one of our exceptions."""
    note_error(exc.code)
    return Response(
        content=error_body(exc, _request_id(request)),
        status_code=exc.status_code,
        headers=exc.headers,
        media_type="application/json",
    )


def handle_app_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Answer one of our own exceptions; 5xx ones are logged at ERROR."""
    assert isinstance(exc, errors.AppException)
    if exc.status_code >= 500:
        logger.error("request.failed", code=exc.code, message=exc.message, details=exc.details)
    else:
        logger.info("request.rejected", code=exc.code, status=exc.status_code)
    return error_response(request, exc)


def handle_http_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Translate Litestar's own HTTP exceptions (routing, parsing, validation)."""
    assert isinstance(exc, HTTPException)
    mapped = _map_http_exception(request, exc)
    if mapped.status_code >= 500:
        logger.error("request.failed", code=mapped.code, detail=exc.detail)
    return error_response(request, mapped)


def handle_unexpected_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Log the full traceback; answer 500 without leaking it."""
    logger.error("request.crashed", exc_info=exc, path=request.url.path)
    return error_response(request, errors.AppException("Internal server error."))


def handle_database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The database refused or is unreachable: 503, without the driver's text (it has SQL)."""
    logger.error("request.database_error", error=type(exc).__name__, detail=str(exc)[:500])
    return error_response(request, errors.database_unavailable())


def handle_queue_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """The task queue's Redis refused or is unreachable: 503 QUEUE_ERROR."""
    logger.error("request.queue_error", error=type(exc).__name__, detail=str(exc)[:500])
    return error_response(
        request,
        errors.QueueError(
            "The task queue is unavailable right now; retry shortly.",
            headers={"Retry-After": "5"},
        ),
    )


def handle_undecodable_form(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A form field that is not valid text (Litestar's multipart parser raises this)."""
    logger.info("request.rejected", code=errors.BadRequestError.code, reason=str(exc)[:200])
    return error_response(request, errors.BadRequestError("A form field is not valid UTF-8 text."))


def exception_handlers() -> ExceptionHandlersMap:
    """Return the handler map registered on the app."""
    handlers: ExceptionHandlersMap = {
        errors.AppException: handle_app_exception,
        HTTPException: handle_http_exception,
        UnicodeDecodeError: handle_undecodable_form,
        SQLAlchemyError: handle_database_error,
        Exception: handle_unexpected_exception,
    }
    try:  # the queue's Redis client comes with the scale extra
        from redis.exceptions import RedisError  # noqa: PLC0415
    except ImportError:
        return handlers
    handlers[RedisError] = handle_queue_error
    return handlers


def _map_http_exception(  # noqa: PLR0911 - one early return per Litestar exception kind
    request: Request[Any, Any, Any], exc: HTTPException
) -> errors.AppException:
    headers = dict(exc.headers or {})
    method, path = request.method, request.url.path
    if isinstance(exc, NotFoundException):
        return errors.ResourceNotFoundError(
            exc.detail if exc.detail != "Not Found" else f"No route for {method} {path}."
        )
    if isinstance(exc, MethodNotAllowedException):
        mapped: errors.AppException = errors.MethodNotAllowedError(
            f"{method} is not allowed on {path}.", headers=headers
        )
        return mapped
    if exc.status_code == HTTP_413_REQUEST_ENTITY_TOO_LARGE or exc.detail == _MULTIPART_TOO_LARGE:
        limit = request.route_handler.resolve_request_max_body_size() if _routed(request) else None
        return errors.FileTooLargeError(
            "The request body is larger than this server accepts.",
            details={"max_request_bytes": limit} if limit else {},
        )
    if isinstance(exc, ValidationException):
        return errors.ValidationError(
            "The request is not valid.", details={"errors": _jsonable(exc.extra)}
        )
    if isinstance(exc, NotAuthorizedException):
        return errors.AuthenticationError(exc.detail)
    if isinstance(exc, PermissionDeniedException):
        return errors.AuthorizationError(exc.detail)
    if exc.status_code < 500:
        return errors.BadRequestError(exc.detail or "The request could not be processed.")
    return errors.AppException("Internal server error.")


def _routed(request: Request[Any, Any, Any]) -> bool:
    return request.scope.get("route_handler") is not None


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def _request_id(request: Request[Any, Any, Any]) -> str | None:
    rid = request_id_of(request.scope)
    if rid is None:
        rid = structlog.contextvars.get_contextvars().get("request_id")
    return rid
