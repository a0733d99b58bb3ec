"""Cutout HTTP routes: parse, call the service, answer."""

from typing import Annotated

from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, Router, post
from litestar.enums import RequestEncodingType
from litestar.params import Body

from center_api.core.settings import Settings
from center_api.slices.cutout.schemas import CutoutForm
from center_api.slices.cutout.service import CutoutService
from center_api.web.images import image_response, read_upload


@post(
    "/segment",
    summary="Remove the background",
    description="Send an image as multipart field `file`; get the subject as a transparent PNG.",
    status_code=200,
    response_description="The cut-out image; metadata in X-* headers.",
)
@inject
async def segment(
    data: Annotated[CutoutForm, Body(media_type=RequestEncodingType.MULTI_PART)],
    service: FromDishka[CutoutService],
    settings: FromDishka[Settings],
) -> Response[bytes]:
    """Cut the subject out of the uploaded image."""
    image = await read_upload(data.file, settings.images.max_bytes)
    return image_response(await service.segment(image, data.options()))


def build_router() -> Router:
    """A fresh router for one app."""
    return Router(path="/cutout", route_handlers=[segment], tags=["cutout"])
