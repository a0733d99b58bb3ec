"""Face enhancement HTTP routes: parse, call the service, answer."""

from typing import Annotated, Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from center_api.sdk import Settings, image_response, options_of, read_image_source
from center_api.slices.face_enhance.schemas import (
    DetectForm,
    DetectOptions,
    FaceEnhanceForm,
    FaceEnhanceOptions,
    FaceReport,
)
from center_api.slices.face_enhance.service import FaceEnhanceService


@post(
    "/enhance",
    summary="Restore the faces of a photo",
    description=(
        "Send the image as multipart field `file`, or `image_url`, or `image_file_b64`; every "
        "face is detected, aligned, restored by the chosen engine and pasted back seamlessly. "
        "The engine that ran is in X-Engine, face counts in X-Faces-*. With `Accept: "
        "application/json` (or return_faces=beside) the answer is JSON with base64."
    ),
    status_code=200,
    response_description="The enhanced image; metadata in X-* headers.",
)
@inject
async def enhance(
    request: Request[Any, Any, Any],
    data: Annotated[FaceEnhanceForm, Body(media_type=RequestEncodingType.MULTI_PART)],  # type: ignore[valid-type]
    service: FromDishka[FaceEnhanceService],
    settings: FromDishka[Settings],
) -> Response[Any]:
    """Enhance the faces of the image (an upload, a URL, or base64)."""
    image = await read_image_source(data, settings)
    options = options_of(data, FaceEnhanceOptions)
    result = await service.enhance(image, options)
    return image_response(request, result, force_json=options.return_faces == "beside")


@post(
    "/detect",
    summary="Find the faces of a photo",
    description=(
        "Boxes, five landmarks (left eye, right eye, nose, left and right mouth corner), "
        "scores, and what /enhance would do with each face under the same options."
    ),
    status_code=200,
)
@inject
async def detect(
    data: Annotated[DetectForm, Body(media_type=RequestEncodingType.MULTI_PART)],  # type: ignore[valid-type]
    service: FromDishka[FaceEnhanceService],
    settings: FromDishka[Settings],
) -> FaceReport:
    """Detect the faces of the image."""
    image = await read_image_source(data, settings)
    return await service.detect(image, options_of(data, DetectOptions))


def build_router() -> Router:
    """A fresh router for one app."""
    return Router(path="/face-enhance", route_handlers=[enhance, detect], tags=["face_enhance"])
