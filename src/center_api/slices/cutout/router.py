"""Cutout HTTP routes, declared through the SDK's handler factory."""

from center_api import sdk
from center_api.slices.cutout.schemas import CutoutForm, CutoutOptions
from center_api.slices.cutout.service import CutoutService

segment = sdk.image_route(
    "/segment",
    CutoutForm,
    CutoutOptions,
    CutoutService.segment,
    summary="Remove the background",
    description=(
        "Send the image as multipart field `file`, or `image_url`, or `image_file_b64`; get "
        "the subject on transparency (or the mask, or flattened on a colour). Metadata comes "
        "in X-* headers; with `Accept: application/json` the answer is JSON with base64."
    ),
    response_description="The cut-out image; metadata in X-* headers.",
)


def build_router() -> sdk.Router:
    """A fresh router for one app."""
    return sdk.Router(path="/cutout", route_handlers=[segment], tags=["cutout"])
