"""Text erase HTTP routes: parse, call the service, answer."""

from typing import Annotated, Any

from center_api import sdk
from center_api_text_erase.schemas import DetectForm, DetectOptions, EraseForm, EraseOptions
from center_api_text_erase.service import TextEraseService


@sdk.post(
    "/erase",
    summary="Erase the text in an image",
    description=(
        "Send the image as multipart field `file`, or `image_url`, or `image_file_b64`; get it "
        "back with its text inpainted away (or the erase mask with `output=mask`, or the boxes "
        "as JSON with `output=boxes`). With `Accept: application/json` the image comes as base64."
    ),
    status_code=200,
    response_description="The image without its text; metadata in X-* headers.",
)
@sdk.inject
async def erase(
    request: sdk.Request[Any, Any, Any],
    data: Annotated[EraseForm, sdk.MULTIPART],  # type: ignore[valid-type]
    service: sdk.FromDishka[TextEraseService],
    settings: sdk.FromDishka[sdk.Settings],
) -> sdk.Response[Any]:
    """Detect the text and inpaint it away."""
    image = await sdk.read_image_source(data, settings)
    result = await service.erase(image, sdk.options_of(data, EraseOptions))
    return sdk.image_response(request, result)


@sdk.post(
    "/detect",
    summary="Find the text in an image",
    description="The text regions as rotated boxes (4 points), their bounds and scores.",
    status_code=200,
)
@sdk.inject
async def detect(
    request: sdk.Request[Any, Any, Any],
    data: Annotated[DetectForm, sdk.MULTIPART],  # type: ignore[valid-type]
    service: sdk.FromDishka[TextEraseService],
    settings: sdk.FromDishka[sdk.Settings],
) -> sdk.Response[Any]:
    """Answer the text boxes as JSON."""
    image = await sdk.read_image_source(data, settings)
    result = await service.detect(image, sdk.options_of(data, DetectOptions))
    return sdk.image_response(request, result)


def build_router(path: str) -> sdk.Router:
    """A fresh router for one app."""
    return sdk.Router(path=path, route_handlers=[erase, detect], tags=["text_erase"])
