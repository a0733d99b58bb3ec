"""HTTP helpers every slice router shares: reading uploads, answering with images."""

from typing import Any

from litestar import Response
from litestar.datastructures import UploadFile

from center_api.core.errors import FileTooLargeError, MissingSourceError
from center_api.registry.spec import SliceResult


async def read_upload(upload: UploadFile | None, max_bytes: int) -> bytes:
    """Return the uploaded bytes, refusing a missing file or one over ``max_bytes``."""
    if upload is None:
        raise MissingSourceError(
            "No image was sent: add a multipart field named 'file'.",
            details={"field": "file"},
        )
    data = await upload.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise FileTooLargeError(
            "The image is larger than this server accepts.", details={"max_bytes": max_bytes}
        )
    return data


def metadata_headers(metadata: dict[str, Any]) -> dict[str, str]:
    """``{"processing_ms": 12}`` → ``{"X-Processing-Ms": "12"}`` (scalars only)."""
    headers = {}
    for key, value in metadata.items():
        if isinstance(value, str | int | float | bool):
            name = "X-" + "-".join(part.capitalize() for part in key.split("_"))
            headers[name] = str(value).lower() if isinstance(value, bool) else str(value)
    return headers


def image_response(result: SliceResult) -> Response[bytes]:
    """Answer with the result bytes, their media type and metadata headers."""
    return Response(
        content=result.content,
        media_type=result.media_type,
        headers=metadata_headers(result.metadata),
    )
