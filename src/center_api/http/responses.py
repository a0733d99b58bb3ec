"""HTTP answers every slice router shares: image bytes with metadata headers, or JSON."""

import base64
from typing import Any

from litestar import Request, Response

from center_api.http.middleware import request_id_of
from center_api.registry.spec import SliceResult

JSON = "application/json"


def metadata_headers(metadata: dict[str, Any]) -> dict[str, str]:
    """``{"processing_ms": 12}`` → ``{"X-Processing-Ms": "12"}`` (scalars only)."""
    headers = {}
    for key, value in metadata.items():
        if isinstance(value, str | int | float | bool):
            name = "X-" + "-".join(part.capitalize() for part in key.split("_"))
            headers[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return headers


def wants_json(request: Request[Any, Any, Any], media_type: str) -> bool:
    """True when the client's Accept header prefers JSON over the image's own type."""
    if JSON not in request.headers.get("accept", ""):
        return False
    return request.accept.best_match([media_type, JSON], default=media_type) == JSON


def image_response(
    request: Request[Any, Any, Any], result: SliceResult, *, force_json: bool = False
) -> Response[Any]:
    """Answer with the bytes and X-* metadata headers, or with JSON (base64) if asked for.

    ``force_json`` answers JSON whatever the Accept header says.
    """
    headers = metadata_headers(result.metadata)
    if result.media_type != JSON and (force_json or wants_json(request, result.media_type)):
        body = {
            "success": True,
            "media_type": result.media_type,
            "image_b64": base64.b64encode(result.content).decode("ascii"),
            "metadata": result.metadata,
            "request_id": request_id_of(request.scope),
        }
        return Response(content=body, media_type=JSON, headers=headers)
    return Response(content=result.content, media_type=result.media_type, headers=headers)
