"""The one error hierarchy. Every failure leaves the API as the JSON envelope of DESIGN.md §5.

Codes are stable, SCREAMING_SNAKE strings clients can switch on; messages are for people. A
class names its code and status where it is declared (``class X(Base, code=..., status=...)``);
what it does not name it inherits.
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

    def __init_subclass__(
        cls, *, code: str | None = None, status: int | None = None, **kwargs: Any
    ) -> None:
        """Set the subclass's ``code`` and ``status_code`` from its class keywords."""
        super().__init_subclass__(**kwargs)
        if code is not None:
            cls.code = code
        if status is not None:
            cls.status_code = status

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
class DomainError(AppException, code="VALIDATION_ERROR", status=422):
    """A rule of the domain was broken by the request."""


class ValidationError(DomainError):
    """Input or options are well-formed but not acceptable."""


class FormatNeedsBackgroundError(ValidationError, code="FORMAT_NEEDS_BACKGROUND"):
    """An output format without transparency was asked for a transparent result."""


class BusinessRuleViolationError(DomainError, code="BUSINESS_RULE_VIOLATION", status=409):
    """The request conflicts with the current state (e.g. an illegal task transition)."""


class TaskNotPausableError(BusinessRuleViolationError, code="TASK_NOT_PAUSABLE"):
    """A running task with no checkpoint cannot stop midway: it will finish first."""


class InsufficientQuotaError(DomainError, code="INSUFFICIENT_QUOTA", status=402):
    """The caller's quota is used up."""


# --- application --------------------------------------------------------------------------------
class ApplicationError(AppException, code="RESOURCE_NOT_FOUND", status=404):
    """The request names something this server cannot give."""


class ResourceNotFoundError(ApplicationError):
    """No such resource (or route)."""


class TaskNotFoundError(ResourceNotFoundError, code="TASK_NOT_FOUND"):
    """No task with that id that the caller may see (another key's task looks absent too)."""


class MethodNotAllowedError(ApplicationError, code="METHOD_NOT_ALLOWED", status=405):
    """The route exists but not for this HTTP method."""


class PermissionDeniedError(ApplicationError, code="PERMISSION_DENIED", status=403):
    """The caller may not do this."""


class FeatureDisabledError(ApplicationError, code="FEATURE_DISABLED", status=404):
    """The slice is installed but switched off (or failed to load) on this server."""


class BadRequestError(ApplicationError, code="BAD_REQUEST", status=400):
    """The request could not be parsed (malformed body, multipart, JSON)."""


class UnsupportedMediaTypeError(ApplicationError, code="UNSUPPORTED_MEDIA_TYPE", status=415):
    """The body's Content-Type is not one the route reads (multipart, urlencoded, JSON)."""


# --- input images -------------------------------------------------------------------------------
class InputError(AppException, code="INVALID_IMAGE", status=422):
    """The uploaded image cannot be used."""


class InvalidImageError(InputError):
    """Bytes are empty, truncated or not an image."""


class UnsupportedFormatError(InputError, code="UNSUPPORTED_FORMAT", status=415):
    """A real image, in a format this server does not accept."""


class FileTooLargeError(InputError, code="FILE_TOO_LARGE", status=413):
    """The upload (or the whole request body) exceeds the byte limit."""


class ResolutionTooHighError(InputError, code="RESOLUTION_TOO_HIGH", status=422):
    """The image header declares more pixels than the megapixel limit."""


class MissingSourceError(InputError, code="MISSING_SOURCE", status=422):
    """No image was given."""


class MultipleSourcesError(InputError, code="MULTIPLE_SOURCES", status=422):
    """More than one image source was given."""


class UrlNotAllowedError(InputError, code="URL_NOT_ALLOWED", status=422):
    """An ``image_url`` (or callback) points where this server must not go."""


class FetchFailedError(InputError, code="FETCH_FAILED", status=422):
    """The named URL could not be fetched (network error, timeout, non-2xx answer)."""


class NoForegroundError(InputError, code="NO_FOREGROUND", status=422):
    """Nothing of the photo was kept: no subject to scale, place or report (remove.bg's routes)."""


class NoFaceDetectedError(InputError, code="NO_FACE_DETECTED", status=422):
    """The operation needs a face and none was found."""


class MultipleFacesError(InputError, code="MULTIPLE_FACES", status=422):
    """The operation needs exactly one face and the image has several (``details.count``)."""


# ID photos: the photo cannot meet the size's rules; the message says what to retake.
class HeadCutOffError(InputError, code="HEAD_CUT_OFF", status=422):
    """Part of the head (crown, chin or a side) is outside the photo."""


class FaceTooSmallError(InputError, code="FACE_TOO_SMALL", status=422):
    """The face has too few pixels for the asked-for print size and resolution."""


class FaceRotatedError(InputError, code="FACE_ROTATED", status=422):
    """The head is turned or tilted further than the rules allow."""


class CropTooTightError(InputError, code="CROP_TOO_TIGHT", status=422):
    """The photo ends too close to the subject to fill the frame without inventing pixels."""


class TargetSizeUnreachableError(ValidationError, code="TARGET_SIZE_UNREACHABLE", status=422):
    """No encoder setting brings the file under the asked-for size."""


class RateLimitedError(ApplicationError, code="RATE_LIMITED", status=429):
    """Too many requests in the current window; ``Retry-After`` says when to try again."""


# --- infrastructure -----------------------------------------------------------------------------
class InfrastructureError(AppException, code="INTERNAL_ERROR", status=500):
    """Something this server depends on is missing or failing."""


class ModelLoadError(InfrastructureError, code="MODEL_LOAD_ERROR", status=500):
    """Weights are present but ONNX Runtime could not load or run them."""


class ModelNotAvailableError(InfrastructureError, code="MODEL_NOT_AVAILABLE", status=503):
    """Weights are not installed (the message names the pull command)."""


class DatabaseError(InfrastructureError, code="DATABASE_ERROR", status=503):
    """The database refused or is unreachable."""


def database_unavailable() -> DatabaseError:
    """The one 503 for a database that refused or could not be reached (no driver text)."""
    return DatabaseError(
        "The database is unavailable right now; nothing was changed. Retry shortly.",
        headers={"Retry-After": "5"},
    )


class QueueError(InfrastructureError, code="QUEUE_ERROR", status=503):
    """The task queue refused or is unreachable."""


class InferenceTimeoutError(InfrastructureError, code="TIMEOUT", status=504):
    """The work ran longer than the configured timeout and was stopped; retry later."""


class ServiceOverloadedError(InfrastructureError, code="SERVICE_OVERLOADED", status=503):
    """All inference slots are busy and the wait queue is full; retry later."""

    def __init__(self, message: str, *, retry_after_s: int, details: dict[str, Any]) -> None:
        super().__init__(message, details=details, headers={"Retry-After": str(retry_after_s)})


# --- security -----------------------------------------------------------------------------------
class SecurityError(AppException, code="AUTHENTICATION_ERROR", status=401):
    """Authentication or authorisation failed."""


class AuthenticationError(SecurityError):
    """No valid credentials."""


class AuthorizationError(SecurityError, code="AUTHORIZATION_ERROR", status=403):
    """Valid credentials, insufficient role."""
