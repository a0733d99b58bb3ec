"""remove.bg API v1.0 at ``POST /v1.0/removebg`` and ``GET /v1.0/account``.

A remove.bg client works unchanged with only its endpoint changed: its key goes in
``X-Api-Key`` (one of our keys), its image in ``image_file``, ``image_file_b64`` or
``image_url`` (multipart, urlencoded or JSON), its parameters mean what remove.bg says, and
the answer carries remove.bg's headers and, on failure, its error shape (`compat.errors`).

The subject is cut out by the cutout slice (through its ``run()``, as tasks call it); the
steps remove.bg has and cutout does not (scale, position, shadow, background photo, ZIP)
are `compat.compose`. One call is one credit, taken from the key's call quota; the key's
megapixel quota is charged the input's megapixels, as on every image route.
"""

import base64
from typing import Annotated, Any, Literal, cast

import numpy as np
from dishka import AsyncContainer
from dishka.integrations.litestar import FromDishka, inject
from litestar import Request, Response, Router, get
from litestar.datastructures import UploadFile
from msgspec import Meta, Struct

from center_api.auth.access import TOOL
from center_api.auth.keys import principal_of
from center_api.compat import compose
from center_api.compat.errors import removebg_exception_handlers
from center_api.compat.slices import cut_out, remaining_calls
from center_api.core.errors import ValidationError
from center_api.core.outbound.fetch import fetch_bytes
from center_api.core.settings import ImageSettings, Settings
from center_api.http.responses import wants_json
from center_api.http.sources import image_form, read_image_source
from center_api.kernel.imaging import (
    MEDIA_TYPES,
    OutputFormat,
    decode_image,
    encode_image,
    probe_image,
)
from center_api.kernel.kernel import InferenceKernel
from center_api.sdk import MULTIPART, image_post
from center_api.sdk.vision import parse_color

Size = Literal["preview", "small", "regular", "medium", "hd", "4k", "full", "50MP", "auto"]
Spec = Annotated[str, Meta(max_length=64, pattern=r"^[0-9.,% px]+$")]
ZIP = "application/zip"


class RemoveBgParams(Struct, forbid_unknown_fields=True, kw_only=True):
    """remove.bg's parameters (API v1.0), as its reference names them."""

    size: Annotated[Size, Meta(description="Output resolution; preview = 0.25 MP.")] = "preview"
    type: Annotated[
        str, Meta(pattern=r"^[a-z_]{1,32}$", description="auto, person, product, car, …")
    ] = "auto"
    type_level: Annotated[str, Meta(pattern=r"^(none|1|2|latest)$")] = "1"
    format: Literal["auto", "png", "jpg", "webp", "zip"] = "auto"
    roi: Annotated[str, Meta(max_length=64, pattern=r"^[0-9.,% px]+$")] = "0% 0% 100% 100%"
    crop: bool = False
    crop_margin: Spec = "0"
    scale: Annotated[str, Meta(max_length=16)] = "original"
    position: Annotated[str, Meta(max_length=32)] = "original"
    channels: Literal["rgba", "alpha"] = "rgba"
    bg_color: Annotated[str, Meta(max_length=32)] | None = None
    bg_image_url: Annotated[str, Meta(max_length=2048)] | None = None
    bg_image_file: UploadFile | None = None
    add_shadow: bool = False
    semitransparency: bool = True


RemoveBgForm = image_form(RemoveBgParams, "RemoveBgForm")


@image_post(
    "/removebg",
    summary="Remove the background (remove.bg API v1.0)",
    description="remove.bg's request and answer; see docs/migrating.md.",
    status_code=200,
)
@inject
async def removebg(
    request: Request[Any, Any, Any],
    data: Annotated[RemoveBgForm, MULTIPART],  # type: ignore[valid-type]
    settings: FromDishka[Settings],
    kernel: FromDishka[InferenceKernel],
    container: FromDishka[AsyncContainer],
) -> Response[Any]:
    """Cut out the subject and finish it as remove.bg would."""
    params: RemoveBgParams = data
    image = await read_image_source(data, settings)
    scale, position = compose.parse_scale(params.scale), compose.parse_position(params.position)
    if params.scale != "original" and position is None and params.position == "original":
        position = (0.5, 0.5)  # remove.bg: scaling implies position=center
    background = await _background(params, settings)
    colour = parse_color(params.bg_color) if params.bg_color else None
    cut = await cut_out(
        container,
        image,
        {
            "size": "preview" if params.size in {"preview", "small", "regular"} else "full",
            "roi": params.roi,
            "crop": params.crop,
            "crop_margin": params.crop_margin,
        },
    )
    finish = _Finish(params, scale, position, colour)
    content, media_type, box, size = await kernel.run(
        lambda: finish(cut, background, settings), label="removebg"
    )
    headers = {
        "X-Width": str(size[0]),
        "X-Height": str(size[1]),
        "X-Type": params.type if params.type != "auto" else "other",
        "X-Credits-Charged": "1",
        "X-Foreground-Left": str(box[0]),
        "X-Foreground-Top": str(box[1]),
        "X-Foreground-Width": str(box[2]),
        "X-Foreground-Height": str(box[3]),
    }
    if wants_json(request, media_type):
        body = {
            "data": {
                "result_b64": base64.b64encode(content).decode("ascii"),
                "foreground_top": box[1],
                "foreground_left": box[0],
                "foreground_width": box[2],
                "foreground_height": box[3],
            }
        }
        return Response(body, media_type="application/json", headers=headers)
    return Response(content, media_type=media_type, headers=headers)


async def _background(params: RemoveBgParams, settings: Settings) -> bytes | None:
    """The background photo's bytes (``bg_image_url`` or ``bg_image_file``), if one was sent.

    Its header is checked here (bytes, format, megapixels); it is decoded in the kernel job.
    """
    given = [params.bg_image_url, params.bg_image_file, params.bg_color]
    if sum(value not in (None, "") for value in given) > 1:
        raise ValidationError("Send at most one of bg_color, bg_image_url and bg_image_file.")
    limit = settings.images.max_bytes
    if params.bg_image_url:
        data = await fetch_bytes(params.bg_image_url, settings.fetch, limit)
    elif isinstance(params.bg_image_file, UploadFile):
        data = await params.bg_image_file.read(limit + 1)
    else:
        return None
    probe_image(data, settings.images)
    return data


class _Finish:
    """The CPU part after the cut (runs in a kernel slot)."""

    def __init__(
        self,
        params: RemoveBgParams,
        scale: float | None,
        position: tuple[float, float] | None,
        colour: tuple[int, int, int, int] | None,
    ) -> None:
        self.params, self.scale, self.position, self.colour = params, scale, position, colour

    def __call__(
        self, cut: bytes, background: bytes | None, settings: Settings
    ) -> tuple[bytes, str, tuple[int, int, int, int], tuple[int, int]]:
        params, limits = self.params, settings.images
        rgba = decode_image(cut, limits).pixels
        rgba = compose.cap_megapixels(rgba, params.size)
        rgba = compose.place(rgba, self.scale, self.position)
        if not params.semitransparency:
            rgba = compose.harden(rgba)
        box = compose.foreground_box(rgba[..., 3])
        if params.add_shadow:
            rgba = compose.with_shadow(rgba)
        size = (int(rgba.shape[1]), int(rgba.shape[0]))
        if params.channels == "alpha":
            content, media_type = self._encode_mask(rgba[..., 3], limits)
            return content, media_type, box, size
        photo = decode_image(background, limits).pixels if background is not None else None
        flat = _backdrop(rgba, photo, self.colour)
        if params.format == "zip":
            colour = encode_image(np.ascontiguousarray(flat[..., :3]), "jpg", limits)
            alpha = encode_image(np.ascontiguousarray(rgba[..., 3]), "png", limits)
            return compose.zip_of(colour, alpha), ZIP, box, size
        fmt = _image_format(params.format, flat)
        if fmt == "jpg" and flat.shape[2] == 4:
            flat = compose.on_background(flat, np.full((1, 1, 3), 255, dtype=np.uint8))
        return encode_image(np.ascontiguousarray(flat), fmt, limits), MEDIA_TYPES[fmt], box, size

    def _encode_mask(self, alpha: np.ndarray, limits: ImageSettings) -> tuple[bytes, str]:
        fmt = _image_format(self.params.format, alpha)
        return encode_image(np.ascontiguousarray(alpha), fmt, limits), MEDIA_TYPES[fmt]


def _image_format(asked: str, pixels: np.ndarray) -> OutputFormat:
    """png, jpg or webp for ``asked``; auto is png when something is transparent, else jpg."""
    if asked in ("png", "jpg", "webp"):
        return cast("OutputFormat", asked)
    if pixels.ndim == 2:  # a mask: png (zip and auto)
        return "png"
    return "png" if pixels.shape[2] == 4 and bool((pixels[..., 3] < 255).any()) else "jpg"


def _backdrop(
    rgba: np.ndarray, background: np.ndarray | None, colour: tuple[int, int, int, int] | None
) -> np.ndarray:
    """The subject on the background photo, on the colour, or (neither) as it is."""
    if background is not None:
        return compose.on_background(rgba, background)
    if colour is None:
        return rgba
    if colour[3] == 255:
        return compose.on_background(rgba, np.full((1, 1, 3), colour[:3], dtype=np.uint8))
    return _over_colour(rgba, colour)


def _over_colour(rgba: np.ndarray, colour: tuple[int, int, int, int]) -> np.ndarray:
    """The subject over a translucent colour: still RGBA."""
    base = np.empty_like(rgba)
    base[...] = colour
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    under = base[..., 3:4].astype(np.float32) / 255 * (1 - alpha)
    out_alpha = alpha + under
    safe = np.maximum(out_alpha, 1e-6)
    rgb = (rgba[..., :3] * alpha + base[..., :3] * under) / safe
    return np.dstack([rgb, out_alpha * 255]).clip(0, 255).astype(np.uint8)


@get("/account", summary="Credits left (remove.bg API v1.0)")
@inject
async def account(request: Request[Any, Any, Any], container: FromDishka[AsyncContainer]) -> Any:
    """remove.bg's account answer: the key's calls left as credits (null when unlimited)."""
    principal = principal_of(request.scope)
    left = await remaining_calls(container, principal.key_id if principal else None)
    return {
        "data": {
            "attributes": {
                "credits": {"total": left, "subscription": left, "payg": 0, "enterprise": 0},
                "api": {"free_calls": 0, "sizes": "all"},
            }
        }
    }


def build_router() -> Router:
    """The remove.bg routes, billed to the cutout tool, answering errors in remove.bg's shape."""
    billed = Router(path="/", route_handlers=[removebg], opt={TOOL: "cutout"})
    return Router(
        path="/v1.0",
        route_handlers=[billed, account],
        exception_handlers=removebg_exception_handlers(),
        tags=["remove.bg compatible"],
    )
