"""Face enhancement HTTP routes, declared through the SDK's handler factory."""

from center_api import sdk
from center_api.slices.face_enhance.schemas import (
    DetectForm,
    DetectOptions,
    FaceEnhanceForm,
    FaceEnhanceOptions,
    FaceReport,
)
from center_api.slices.face_enhance.service import FaceEnhanceService

enhance = sdk.image_route(
    "/enhance",
    FaceEnhanceForm,
    FaceEnhanceOptions,
    FaceEnhanceService.enhance,
    summary="Restore the faces of a photo",
    description=(
        "Send the image as multipart field `file`, or `image_url`, or `image_file_b64`; every "
        "face is detected, aligned, restored by the chosen engine and pasted back seamlessly. "
        "The engine that ran is in X-Engine, face counts in X-Faces-*. With `Accept: "
        "application/json` (or return_faces=beside) the answer is JSON with base64."
    ),
    response_description="The enhanced image; metadata in X-* headers.",
    json_when=lambda options: options.return_faces == "beside",
)

detect = sdk.image_route(
    "/detect",
    DetectForm,
    DetectOptions,
    FaceEnhanceService.detect,
    summary="Find the faces of a photo",
    description=(
        "Boxes, five landmarks (left eye, right eye, nose, left and right mouth corner), "
        "scores, and what /enhance would do with each face under the same options."
    ),
    returns=FaceReport,
)


def build_router() -> sdk.Router:
    """A fresh router for one app."""
    return sdk.Router(path="/face-enhance", route_handlers=[enhance, detect], tags=["face_enhance"])
