"""Background-replace HTTP routes, one per mode: parse, call the service, answer."""

from typing import Annotated, Any

from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body

from center_api.sdk import Settings, image_response, options_of, read_image_source
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
Multipart = Body(media_type=RequestEncodingType.MULTI_PART)


@post(
    "/color",
    summary="Put the subject on a colour",
    description=f"A preset (GET /presets), a hex value or a CSS colour name. {_SOURCES}",
    response_description=_RESPONSE,
    status_code=200,
)
@inject
async def color(
    request: Request[Any, Any, Any],
    data: Annotated[ColorForm, Multipart],  # type: ignore[valid-type]
    service: FromDishka[BackgroundReplaceService],
    settings: FromDishka[Settings],
) -> Response[Any]:
    """The subject on a solid colour."""
    image = await read_image_source(data, settings)
    return image_response(request, await service.replace(image, options_of(data, ColorOptions)))


@post(
    "/gradient",
    summary="Put the subject on a gradient",
    description=f"Two colours, vertical (top to bottom) or radial (centre out). {_SOURCES}",
    response_description=_RESPONSE,
    status_code=200,
)
@inject
async def gradient(
    request: Request[Any, Any, Any],
    data: Annotated[GradientForm, Multipart],  # type: ignore[valid-type]
    service: FromDishka[BackgroundReplaceService],
    settings: FromDishka[Settings],
) -> Response[Any]:
    """The subject on a two-colour gradient."""
    image = await read_image_source(data, settings)
    options = options_of(data, GradientOptions)
    return image_response(request, await service.replace(image, options))


@post(
    "/image",
    summary="Put the subject on another photo",
    description=(
        "The background as `background_file`, `background_url` or `background_b64` (exactly "
        f"one), placed by `fit` and `position`. {_SOURCES}"
    ),
    response_description=_RESPONSE,
    status_code=200,
)
@inject
async def image(
    request: Request[Any, Any, Any],
    data: Annotated[ImageForm, Multipart],  # type: ignore[valid-type]
    service: FromDishka[BackgroundReplaceService],
    settings: FromDishka[Settings],
) -> Response[Any]:
    """The subject on a background photo."""
    photo = await read_image_source(data, settings)
    upload = getattr(data, "background_file", None)  # the form type is built at import time
    background = (
        await upload.read(settings.images.max_bytes + 1) if isinstance(upload, UploadFile) else None
    )
    options = options_of(data, ImageOptions)
    return image_response(request, await service.replace(photo, options, background))


@post(
    "/blur",
    summary="Blur the photo's own background",
    description=f"The subject stays sharp; only the background's light is blurred. {_SOURCES}",
    response_description=_RESPONSE,
    status_code=200,
)
@inject
async def blur(
    request: Request[Any, Any, Any],
    data: Annotated[BlurForm, Multipart],  # type: ignore[valid-type]
    service: FromDishka[BackgroundReplaceService],
    settings: FromDishka[Settings],
) -> Response[Any]:
    """The subject in front of its blurred background."""
    image = await read_image_source(data, settings)
    return image_response(request, await service.replace(image, options_of(data, BlurOptions)))


@post(
    "/id-photo",
    summary="Make an ID photo",
    description=(
        "Exactly one face (else 422 NO_FACE_DETECTED / MULTIPLE_FACES with the count), framed "
        "by the size's head rules, on a plain colour, with the dpi in the file; optionally "
        f"under target_kb (jpg) or tiled on a print sheet. {_SOURCES}"
    ),
    response_description="The ID photo (or print sheet); metadata in X-* headers.",
    status_code=200,
)
@inject
async def id_photo(
    request: Request[Any, Any, Any],
    data: Annotated[IdPhotoForm, Multipart],  # type: ignore[valid-type]
    service: FromDishka[BackgroundReplaceService],
    settings: FromDishka[Settings],
) -> Response[Any]:
    """An ID photo of the one face in the image."""
    image = await read_image_source(data, settings)
    options = options_of(data, IdPhotoOptions)
    return image_response(request, await service.replace(image, options))


@get("/presets", summary="Colour presets, ID-photo sizes and print sheets")
async def presets() -> PresetCatalog:
    """The named colours, ID-photo sizes (with their head rules) and print sheets."""
    return PresetCatalog(
        colors=list(COLOR_PRESETS),
        id_photo_sizes=list(ID_PHOTO_SIZES),
        print_sheets=list(PRINT_SHEETS),
    )


def build_router() -> Router:
    """A fresh router for one app."""
    handlers = [color, gradient, image, blur, id_photo, presets]
    return Router(path="/background-replace", route_handlers=handlers, tags=["background_replace"])
