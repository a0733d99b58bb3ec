"""Background-replace HTTP routes, one per mode, declared through the SDK's handler factory.

The image mode is written out: it is the one route with a second upload (the background).
"""

from typing import Annotated, Any

from litestar.datastructures import UploadFile

from center_api import sdk
from center_api.slices.background_replace.presets import COLOR_PRESETS, ID_PHOTO_SIZES, PRINT_SHEETS
from center_api.slices.background_replace.schemas import (
    BlurForm,
    BlurOptions,
    ColorForm,
    ColorOptions,
    GradientForm,
    GradientOptions,
    IdPhotoForm,
    IdPhotoOptions,
    ImageForm,
    ImageOptions,
    PresetCatalog,
)
from center_api.slices.background_replace.service import BackgroundReplaceService

_SOURCES = (
    "Send the photo as multipart field `file`, or `image_url`, or `image_file_b64`. The answer "
    "is the image with metadata in X-* headers, or JSON with base64 for "
    "`Accept: application/json`."
)
_RESPONSE = "The image on its new background; metadata in X-* headers."
_replace = BackgroundReplaceService.replace

color = sdk.image_route(
    "/color",
    ColorForm,
    ColorOptions,
    _replace,
    summary="Put the subject on a colour",
    description=f"A preset (GET /presets), a hex value or a CSS colour name. {_SOURCES}",
    response_description=_RESPONSE,
)
gradient = sdk.image_route(
    "/gradient",
    GradientForm,
    GradientOptions,
    _replace,
    summary="Put the subject on a gradient",
    description=f"Two colours, vertical (top to bottom) or radial (centre out). {_SOURCES}",
    response_description=_RESPONSE,
)
blur = sdk.image_route(
    "/blur",
    BlurForm,
    BlurOptions,
    _replace,
    summary="Blur the photo's own background",
    description=f"The subject stays sharp; only the background's light is blurred. {_SOURCES}",
    response_description=_RESPONSE,
)
id_photo = sdk.image_route(
    "/id-photo",
    IdPhotoForm,
    IdPhotoOptions,
    _replace,
    summary="Make an ID photo",
    description=(
        "Exactly one face (else 422 NO_FACE_DETECTED / MULTIPLE_FACES with the count), framed "
        "by the size's head rules, on a plain colour, with the dpi in the file; optionally "
        f"under target_kb (jpg) or tiled on a print sheet. {_SOURCES}"
    ),
    response_description="The ID photo (or print sheet); metadata in X-* headers.",
)


@sdk.image_post(
    "/image",
    summary="Put the subject on another photo",
    description=(
        "The background as `background_file`, `background_url` or `background_b64` (exactly "
        f"one), placed by `fit` and `position`. {_SOURCES}"
    ),
    response_description=_RESPONSE,
    status_code=200,
)
@sdk.inject
async def image(
    request: sdk.Request[Any, Any, Any],
    data: Annotated[ImageForm, sdk.MULTIPART],  # type: ignore[valid-type]
    service: sdk.FromDishka[BackgroundReplaceService],
    settings: sdk.FromDishka[sdk.Settings],
) -> sdk.Response[Any]:
    """The subject on a background photo."""
    photo = await sdk.read_image_source(data, settings)
    upload = getattr(data, "background_file", None)  # the form type is built at import time
    background = (
        await upload.read(settings.images.max_bytes + 1) if isinstance(upload, UploadFile) else None
    )
    options = sdk.options_of(data, ImageOptions)
    return sdk.image_response(request, await service.replace(photo, options, background))


@sdk.get("/presets", summary="Colour presets, ID-photo sizes and print sheets")
async def presets() -> PresetCatalog:
    """The named colours, ID-photo sizes (with their head rules) and print sheets."""
    return PresetCatalog(
        colors=list(COLOR_PRESETS),
        id_photo_sizes=list(ID_PHOTO_SIZES),
        print_sheets=list(PRINT_SHEETS),
    )


def build_router() -> sdk.Router:
    """A fresh router for one app."""
    handlers = [color, gradient, image, blur, id_photo, presets]
    return sdk.Router(
        path="/background-replace", route_handlers=handlers, tags=["background_replace"]
    )
