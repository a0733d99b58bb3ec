"""The one error hierarchy. Every failure leaves the API as the JSON envelope of DESIGN.md §5.

Codes are stable, SCREAMING_SNAKE strings clients can switch on; messages are for people.
"""

from typing import Any, ClassVar


class AppException(Exception):  # noqa: N818 - the design names the root class AppException
    """Root of every error the API answers on purpose.

    Attributes:
        code: Stable machine-readable code.
        status_code: HTTP status the error maps to.
        message: A sentence for people.
        details: JSON-safe extra facts (limits, counts, names).
        headers: Extra response headers (e.g. ``Retry-After``).
    """

    code: ClassVar[str] = "INTERNAL_ERROR"
    status_code: ClassVar[int] = 500

    def __init__(
        self,
        message: str,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}
        self.headers = headers or {}


# --- domain -------------------------------------------------------------------------------------
class DomainError(AppException):
    """A rule of the domain was broken by the request."""

    code = "VALIDATION_ERROR"
    status_code = 422


class ValidationError(DomainError):
    """Input or options are well-formed but not acceptable."""


class FormatNeedsBackgroundError(ValidationError):
    """An output format without transparency was asked for a transparent result."""

    code = "FORMAT_NEEDS_BACKGROUND"


class BusinessRuleViolationError(DomainError):
    """The request conflicts with the current state (e.g. an illegal task transition)."""

    code = "BUSINESS_RULE_VIOLATION"
    status_code = 409


class InsufficientQuotaError(DomainError):
    """The caller's quota is used up."""

    code = "INSUFFICIENT_QUOTA"
    status_code = 402


# --- application --------------------------------------------------------------------------------
class ApplicationError(AppException):
    """The request names something this server cannot give."""

    code = "RESOURCE_NOT_FOUND"
    status_code = 404


class ResourceNotFoundError(ApplicationError):
    """No such resource (or route)."""


class TaskNotFoundError(ResourceNotFoundError):
    """No task with that id that the caller may see (another key's task looks absent too)."""

    code = "TASK_NOT_FOUND"


class MethodNotAllowedError(ApplicationError):
    """The route exists but not for this HTTP method."""

    code = "METHOD_NOT_ALLOWED"
    status_code = 405


class PermissionDeniedError(ApplicationError):
    """The caller may not do this."""

    code = "PERMISSION_DENIED"
    status_code = 403


class FeatureDisabledError(ApplicationError):
    """The slice is installed but switched off (or failed to load) on this server."""

    code = "FEATURE_DISABLED"
    status_code = 404


class BadRequestError(ApplicationError):
    """The request could not be parsed (malformed body, multipart, JSON)."""

    code = "BAD_REQUEST"
    status_code = 400


# --- input images -------------------------------------------------------------------------------
class InputError(AppException):
    """The uploaded image cannot be used."""

    code = "INVALID_IMAGE"
    status_code = 422


class InvalidImageError(InputError):
    """Bytes are empty, truncated or not an image."""


class UnsupportedFormatError(InputError):
    """A real image, in a format this server does not accept."""

    code = "UNSUPPORTED_FORMAT"
    status_code = 415


class FileTooLargeError(InputError):
    """The upload (or the whole request body) exceeds the byte limit."""

    code = "FILE_TOO_LARGE"
    status_code = 413


class ResolutionTooHighError(InputError):
    """The image header declares more pixels than the megapixel limit."""

    code = "RESOLUTION_TOO_HIGH"
    status_code = 422


class MissingSourceError(InputError):
    """No image was given."""

    code = "MISSING_SOURCE"
    status_code = 422


class MultipleSourcesError(InputError):
    """More than one image source was given."""

    code = "MULTIPLE_SOURCES"
    status_code = 422


class UrlNotAllowedError(InputError):
    """An ``image_url`` (or callback) points where this server must not go."""

    code = "URL_NOT_ALLOWED"
    status_code = 422


class FetchFailedError(InputError):
    """The named URL could not be fetched (network error, timeout, non-2xx answer)."""

    code = "FETCH_FAILED"
    status_code = 422


class NoFaceDetectedError(InputError):
    """The operation needs a face and none was found."""

    code = "NO_FACE_DETECTED"
    status_code = 422


class MultipleFacesError(InputError):
    """The operation needs exactly one face and the image has several (``details.count``)."""

    code = "MULTIPLE_FACES"
    status_code = 422


class TargetSizeUnreachableError(ValidationError):
    """No encoder setting brings the file under the asked-for size."""

    code = "TARGET_SIZE_UNREACHABLE"
    status_code = 422


class RateLimitedError(ApplicationError):
    """Too many requests in the current window; ``Retry-After`` says when to try again."""

    code = "RATE_LIMITED"
    status_code = 429


# --- infrastructure -----------------------------------------------------------------------------
class InfrastructureError(AppException):
    """Something this server depends on is missing or failing."""

    code = "INTERNAL_ERROR"
    status_code = 500


class ModelLoadError(InfrastructureError):
    """Weights are present but ONNX Runtime could not load or run them."""

    code = "MODEL_LOAD_ERROR"
    status_code = 500


class ModelNotAvailableError(InfrastructureError):
    """Weights are not installed (the message names the pull command)."""

    code = "MODEL_NOT_AVAILABLE"
    status_code = 503


class DatabaseError(InfrastructureError):
    """The database refused or is unreachable."""

    code = "DATABASE_ERROR"
    status_code = 503


def database_unavailable() -> DatabaseError:
    """The one 503 for a database that refused or could not be reached (no driver text)."""
    return DatabaseError(
        "The database is unavailable right now; nothing was changed. Retry shortly.",
        headers={"Retry-After": "5"},
    )


class QueueError(InfrastructureError):
    """The task queue refused or is unreachable."""

    code = "QUEUE_ERROR"
    status_code = 503


class InferenceTimeoutError(InfrastructureError):
    """The work ran longer than the configured timeout and was stopped; retry later."""

    code = "TIMEOUT"
    status_code = 504


class ServiceOverloadedError(InfrastructureError):
    """All inference slots are busy and the wait queue is full; retry later."""

    code = "SERVICE_OVERLOADED"
    status_code = 503

    def __init__(self, message: str, *, retry_after_s: int, details: dict[str, Any]) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after_s)})


# --- security -----------------------------------------------------------------------------------
class SecurityError(AppException):
    """Authentication or authorisation failed."""

    code = "AUTHENTICATION_ERROR"
    status_code = 401


class AuthenticationError(SecurityError):
    """No valid credentials."""


class AuthorizationError(SecurityError):
    """Valid credentials, insufficient role."""

    code = "AUTHORIZATION_ERROR"
    status_code = 403
