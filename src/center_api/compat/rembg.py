"""rembg's HTTP server at ``POST /api/remove`` (upload ``file``) and ``GET /api/remove?url=``.

rembg users switch by changing the host. rembg's option names map onto the cutout slice:

- ``model``: the same ids (``u2netp``, ``u2net``, ``isnet-general-use``, ``birefnet-*``); when
  left out, this server's default (u2netp-int8) rather than rembg's u2net, which needs a pull. A
  model this server does not know is 422 ``VALIDATION_ERROR`` listing the ones it does.
- ``a`` (alpha matting) → cutout's ``refine`` (edges that follow the photo). ``af``, ``ab``,
  ``ae`` (the matting thresholds) are checked (0-255) and have no further effect.
- ``om`` (only mask) → ``channels=alpha``; ``ppm`` (post-process mask) → ``post_process_mask``;
  ``bgc`` (``R,G,B,A``) → ``bg_color``; ``extras`` (JSON) is checked and otherwise unused.

The answer is PNG, as rembg's; errors are this server's envelope.
"""

from typing import Annotated, Any

import msgspec
from dishka import AsyncContainer
from dishka.integrations.litestar import FromDishka, inject
from litestar import Response, Router, get
from litestar.params import Parameter
from msgspec import Meta, Struct

from center_api.auth.access import BILLED, TOOL
from center_api.compat.slices import run_slice
from center_api.core.errors import ValidationError
from center_api.core.settings import Settings
from center_api.http.sources import image_form, read_image_source
from center_api.sdk import MULTIPART, image_post

Byte = Annotated[int, Meta(ge=0, le=255)]
_BGC = Parameter(description="Background colour as R,G,B,A (0-255 each).", max_length=32)
_EXTRAS = Parameter(description="rembg's extra parameters as JSON (checked, unused).")


class RembgOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    """rembg's options, with rembg's names and defaults."""

    model: Annotated[str, Meta(max_length=64)] | None = None
    a: Annotated[bool, Meta(description="Alpha matting: refined edges.")] = False
    af: Byte = 240
    ab: Byte = 10
    ae: Annotated[int, Meta(ge=0, le=255)] = 10
    om: Annotated[bool, Meta(description="Only the mask.")] = False
    ppm: Annotated[bool, Meta(description="Post-process the mask.")] = False


# rembg's upload is ``file``; like every image route it also takes ``image_file_b64`` and
# ``image_url``, in multipart, urlencoded or JSON bodies.
RembgForm = image_form(RembgOptions, "RembgForm")


class _ByUrl(Struct):
    image_url: str


@image_post("/", summary="Remove the background (rembg server)", status_code=200)
@inject
async def remove_upload(
    data: Annotated[RembgForm, MULTIPART],  # type: ignore[valid-type]
    container: FromDishka[AsyncContainer],
    settings: FromDishka[Settings],
    bgc: Annotated[str | None, _BGC] = None,
    extras: Annotated[str | None, _EXTRAS] = None,
) -> Response[bytes]:
    """Rembg's ``POST /api/remove``."""
    image = await read_image_source(data, settings)
    return await _remove(container, image, data, bgc, extras)


@get("/", summary="Remove the background of an image URL (rembg server)")
@inject
async def remove_url(  # noqa: PLR0913, PLR0917 - rembg's query parameters, one by one
    url: Annotated[str, Parameter(description="The image's URL.", max_length=2048)],
    container: FromDishka[AsyncContainer],
    settings: FromDishka[Settings],
    bgc: Annotated[str | None, _BGC] = None,
    extras: Annotated[str | None, _EXTRAS] = None,
    model: Annotated[str | None, Parameter(max_length=64)] = None,
) -> Response[bytes]:
    """Rembg's ``GET /api/remove?url=…``."""
    image = await read_image_source(_ByUrl(image_url=url), settings)
    return await _remove(container, image, RembgOptions(model=model), bgc, extras)


async def _remove(
    container: AsyncContainer,
    image: bytes,
    options: RembgOptions,
    bgc: str | None,
    extras: str | None,
) -> Response[bytes]:
    if extras:
        try:
            msgspec.json.decode(extras)
        except msgspec.DecodeError as exc:
            raise ValidationError(
                "extras is not valid JSON.", details={"extras": extras[:100]}
            ) from exc
    chosen: dict[str, Any] = {
        "refine": options.a,
        "channels": "alpha" if options.om else "rgba",
        "post_process_mask": options.ppm,
        "format": "png",
    }
    if options.model:
        chosen["model"] = options.model
    if bgc:
        chosen["bg_color"] = rgba_hex(bgc)
    result = await run_slice(container, "cutout", image, chosen)
    return Response(result.content, media_type=result.media_type)


def rgba_hex(bgc: str) -> str:
    """Rembg's ``R,G,B,A`` (or ``R,G,B``) → ``#RRGGBBAA``.

    Raises:
        ValidationError: not three or four integers from 0 to 255.
    """
    try:
        values = [int(part) for part in bgc.split(",")]
    except ValueError:
        values = []
    if len(values) not in (3, 4) or not all(0 <= v <= 255 for v in values):
        raise ValidationError("bgc is R,G,B,A with integers 0-255.", details={"bgc": bgc[:32]})
    return "#" + "".join(f"{v:02x}" for v in [*values, 255][:4])


def build_router() -> Router:
    """Rembg's routes under ``/api/remove``, billed to the cutout tool."""
    return Router(
        path="/api/remove",
        route_handlers=[remove_upload, remove_url],
        opt={TOOL: "cutout", BILLED: True},  # GET ?url= computes too
        tags=["rembg compatible"],
    )
