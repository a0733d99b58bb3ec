"""remove.bg's error shape on its compatible routes: ``{"errors": [{"title", "detail", "code"}]}``.

The app's own exception handlers decide what went wrong; these wrap them and rewrite the
envelope with remove.bg's statuses: 400 for any bad input, 402 credits (our quota), 403 a
missing or refused key, 429 rate limits (``Retry-After`` kept); 5xx stay as they are.
"""

from typing import Any

from litestar import Request, Response
from litestar.types import ExceptionHandler, ExceptionHandlersMap

from center_api.http.error_handlers import exception_handlers

# Our code → remove.bg's (code, title). Codes not listed are passed on in lower case.
_REMOVEBG_CODES: dict[str, tuple[str, str]] = {
    "AUTHENTICATION_ERROR": ("auth_failed", "Authentication failed"),
    "AUTHORIZATION_ERROR": ("auth_failed", "Authentication failed"),
    "INSUFFICIENT_QUOTA": ("insufficient_credits", "Insufficient credits"),
    "RATE_LIMITED": ("rate_limit_exceeded", "Rate limit exceeded"),
    "MISSING_SOURCE": ("missing_source", "No image given"),
    "MULTIPLE_SOURCES": ("multiple_sources", "Multiple image sources given"),
    "FILE_TOO_LARGE": ("file_too_large", "File too large"),
    "RESOLUTION_TOO_HIGH": ("resolution_too_high", "Input image resolution too high"),
    "INVALID_IMAGE": ("unknown_format", "Invalid image"),
    "UNSUPPORTED_FORMAT": ("unknown_format", "Invalid image format"),
    "URL_NOT_ALLOWED": ("invalid_image_url", "Image URL not allowed"),
    "FETCH_FAILED": ("failed_to_download", "Failed to download image"),
    "NO_FOREGROUND": ("unknown_foreground", "Could not identify foreground in image"),
    "VALIDATION_ERROR": ("invalid_parameters", "Invalid parameters"),
    "FORMAT_NEEDS_BACKGROUND": ("invalid_parameters", "Invalid parameters"),
    "BAD_REQUEST": ("invalid_request", "Invalid request"),
    "UNSUPPORTED_MEDIA_TYPE": ("invalid_request", "Unsupported content type"),
}
_KEPT_STATUSES = frozenset({402, 403, 429})
JSON = "application/json"


def removebg_status(status: int) -> int:
    """remove.bg's status for ours: 401 → 403, other 4xx → 400, the rest unchanged."""
    if status == 401:
        return 403
    if 400 <= status < 500 and status not in _KEPT_STATUSES:
        return 400
    return status


def removebg_error(status: int, code: str, message: str) -> tuple[int, dict[str, Any]]:
    """The status and body remove.bg would answer for our ``code`` at ``status``."""
    their_code, title = _REMOVEBG_CODES.get(code, (code.lower(), "Error"))
    return removebg_status(status), {
        "errors": [{"title": title, "detail": message, "code": their_code}]
    }


def _wrapped(handler: ExceptionHandler) -> ExceptionHandler:
    def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
        answer = handler(request, exc)
        content = answer.content if isinstance(answer.content, dict) else {}
        error = content.get("error") or {}
        code, message = str(error.get("code", "INTERNAL_ERROR")), str(error.get("message"))
        message += _first_problem(error.get("details"))
        status, body = removebg_error(answer.status_code or 500, code, message)
        return Response(body, status_code=status, headers=answer.headers, media_type=JSON)

    return handle


def _first_problem(details: Any) -> str:
    """`` (size: Invalid enum value 'huge')`` from a validation error's details, else ``""``."""
    problems = details.get("errors") if isinstance(details, dict) else None
    if not (isinstance(problems, list) and problems and isinstance(problems[0], dict)):
        return ""
    first = problems[0]
    return f" ({first.get('key') or 'body'}: {first.get('message')})"


def removebg_exception_handlers() -> ExceptionHandlersMap:
    """The app's exception handlers, answering in remove.bg's shape."""
    return {kind: _wrapped(handler) for kind, handler in exception_handlers().items()}
