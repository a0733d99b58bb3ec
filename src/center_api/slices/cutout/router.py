"""Cutout HTTP routes: parse, call the service, answer."""

from typing import Annotated, Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from center_api.sdk import Settings, image_response, options_of, read_image_source
from center_api.slices.cutout.schemas import CutoutForm, CutoutOptions
from center_api.slices.cutout.service import CutoutService


@post(
    "/segment",
    summary="Remove the background",
    description=(
        "Send the image as multipart field `file`, or `image_url`, or `image_file_b64`; get "
        "the subject on transparency (or the mask, or flattened on a colour). Metadata comes "
        "in X-* headers; with `Accept: application/json` the answer is JSON with base64."
    ),
    status_code=200,
    response_description="The cut-out image; metadata in X-* headers.",
)
@inject
async def segment(
    request: Request[Any, Any, Any],
    data: Annotated[CutoutForm, Body(media_type=RequestEncodingType.MULTI_PART)],  # type: ignore[valid-type]
    service: FromDishka[CutoutService],
    settings: FromDishka[Settings],
) -> Response[Any]:
    """Cut the subject out of the image (an upload, a URL, or base64)."""
    image = await read_image_source(data, settings)
    options = options_of(data, CutoutOptions)
    return image_response(request, await service.segment(image, options))


def build_router() -> Router:
    """A fresh router for one app."""
    return Router(path="/cutout", route_handlers=[segment], tags=["cutout"])
