"""One body parser for every form route: multipart, urlencoded or JSON, with the same field names.

Form routes declare their body as multipart (``Annotated[Form, Body(media_type=MULTI_PART)]``).
`accept_any_body`, a ``before_request`` hook, runs after the guard and before Litestar reads
the body: a urlencoded or JSON body is parsed here into the form's field values, and Litestar
then validates them into the route's msgspec form exactly as it validates a multipart body
(same lax conversions, same ``forbid_unknown_fields``, same 422 on a bad value). So a field
means the same thing whatever the body kind, and every error is the envelope's.

`AnyBodyOperation` documents the three media types in OpenAPI with the form's one schema.
"""

from dataclasses import dataclass
from typing import Any

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import Operation, RequestBody
from litestar.params import BodyKwarg
from litestar.utils.scope.state import ScopeState

from center_api.core.errors import BadRequestError, UnsupportedMediaTypeError, ValidationError

JSON = "application/json"
FORM_MEDIA_TYPES = (RequestEncodingType.MULTI_PART, RequestEncodingType.URL_ENCODED, JSON)


async def accept_any_body(request: Request[Any, Any, Any]) -> None:
    """Let a form route read a urlencoded or JSON body as it reads a multipart one.

    Does nothing on routes whose body is not a form, and for multipart bodies (Litestar's own
    parser reads those).

    Raises:
        BadRequestError: the JSON does not parse, or is not an object (400).
        UnsupportedMediaTypeError: a body of any other type (415).
    """
    if not _takes_form(request):
        return
    media_type = request.content_type[0]
    if media_type == RequestEncodingType.MULTI_PART:
        return
    if media_type == RequestEncodingType.URL_ENCODED:
        await request.form()  # Litestar keeps the parsed fields for the route's form
        return
    body = await request.body()
    if media_type == JSON or media_type.endswith("+json"):
        _keep_fields(request, _as_form_fields(_json_object(body)))
    elif not body:
        _keep_fields(request, {})  # no body at all: the route says which field is missing
    else:
        raise UnsupportedMediaTypeError(
            f"A body of type {media_type or 'unknown'!r} is not accepted here: send "
            "multipart/form-data, application/x-www-form-urlencoded or application/json.",
            details={"content_type": media_type[:100], "accepted": list(FORM_MEDIA_TYPES)},
        )


def _takes_form(request: Request[Any, Any, Any]) -> bool:
    data = request.route_handler.parsed_fn_signature.parameters.get("data")
    kwarg = data.kwarg_definition if data is not None else None
    return isinstance(kwarg, BodyKwarg) and kwarg.media_type in (
        RequestEncodingType.MULTI_PART,
        RequestEncodingType.URL_ENCODED,
    )


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:  # deep nesting exhausts the decoder
        raise BadRequestError("The body is not valid JSON.", details={"error": "json"}) from exc
    if isinstance(value, dict):
        uploads = [name for name in ("file", "image_file") if value.get(name) is not None]
        if uploads:
            raise ValidationError(
                f"{uploads[0]} is a multipart upload; in a JSON body send the image as "
                "image_file_b64 (base64 text) or image_url.",
                details={"field": uploads[0]},
            )
        return value
    raise BadRequestError(
        'The JSON body must be an object of fields, e.g. {"image_url": "https://…"}.',
        details={"got": type(value).__name__},
    )


def _as_form_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """JSON objects and lists as JSON text: what a form field carrying JSON holds.

    A form cannot hold structures, so a field that takes JSON (a task's ``options``, a
    pipeline's ``steps``) is text; in a JSON body the client may send the structure itself.
    """
    return {
        name: msgspec.json.encode(value).decode() if isinstance(value, dict | list) else value
        for name, value in fields.items()
    }


def _keep_fields(request: Request[Any, Any, Any], fields: dict[str, Any]) -> None:
    """Hand ``fields`` to Litestar's form reader: it uses parsed fields when it finds them."""
    ScopeState.from_scope(request.scope).form = fields


@dataclass
class AnyBodyOperation(Operation):
    """An OpenAPI operation whose multipart form body is also documented as urlencoded and JSON."""

    def __post_init__(self) -> None:
        """Copy the multipart schema to the other two media types."""
        body = self.request_body
        if not isinstance(body, RequestBody):
            return
        multipart = body.content.get(RequestEncodingType.MULTI_PART)
        if multipart is None:
            return
        body.content = {
            RequestEncodingType.MULTI_PART: multipart,
            RequestEncodingType.URL_ENCODED: multipart,
            JSON: multipart,
        }
