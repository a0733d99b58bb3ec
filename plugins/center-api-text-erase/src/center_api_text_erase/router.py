"""Text erase HTTP routes, declared through the SDK's handler factory."""

from center_api import sdk
from center_api_text_erase.schemas import DetectForm, DetectOptions, EraseForm, EraseOptions
from center_api_text_erase.service import TextEraseService

erase = sdk.image_route(
    "/erase",
    EraseForm,
    EraseOptions,
    TextEraseService.erase,
    summary="Erase the text in an image",
    description=(
        "Send the image as multipart field `file`, or `image_url`, or `image_file_b64`; get it "
        "back with its text inpainted away (or the erase mask with `output=mask`, or the boxes "
        "as JSON with `output=boxes`). With `Accept: application/json` the image comes as base64."
    ),
    response_description="The image without its text; metadata in X-* headers.",
)

detect = sdk.image_route(
    "/detect",
    DetectForm,
    DetectOptions,
    TextEraseService.detect,
    summary="Find the text in an image",
    description="The text regions as rotated boxes (4 points), their bounds and scores.",
)


def build_router(path: str) -> sdk.Router:
    """A fresh router for one app."""
    return sdk.Router(path=path, route_handlers=[erase, detect], tags=["text_erase"])
