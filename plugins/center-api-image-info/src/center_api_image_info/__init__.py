"""Example plugin slice: describe an image."""

from collections.abc import Sequence
from typing import Annotated

import msgspec
import numpy as np
from dishka import AsyncContainer, Provider, Scope, provide
from dishka.integrations.litestar import FromDishka, inject
from litestar import Router, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from msgspec import Meta, Struct

from center_api.sdk import (
    Capabilities,
    InferenceKernel,
    Settings,
    Slice,
    SliceResult,
    decode_image,
    image_form,
    options_of,
    read_image_source,
)


class DescribeOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    """Options of one description."""

    decimals: Annotated[int, Meta(ge=0, le=6, description="Rounding of the mean colour.")] = 1


# Multipart form: one image source plus the options.
DescribeForm = image_form(DescribeOptions, "DescribeForm")


class ImageInfoService:
    """Decodes in a kernel slot and summarises the pixels."""

    def __init__(self, kernel: InferenceKernel, settings: Settings) -> None:
        self._kernel = kernel
        self._settings = settings

    async def describe(self, data: bytes, options: DescribeOptions) -> dict[str, object]:
        """Size, format, alpha and mean colour of ``data``."""

        def job() -> dict[str, object]:
            image = decode_image(data, self._settings.images)
            mean = image.rgb().reshape(-1, 3).mean(axis=0)
            return {
                "width": image.width,
                "height": image.height,
                "format": image.format,
                "has_alpha": image.has_alpha,
                "megapixels": round(image.megapixels, 3),
                "mean_rgb": [round(float(v), options.decimals) for v in np.asarray(mean)],
            }

        return await self._kernel.run(job, label="image_info")


class ImageInfoProvider(Provider):
    """The plugin's services."""

    service = provide(ImageInfoService, scope=Scope.REQUEST)


@post("/describe", status_code=200, summary="Describe an image")
@inject
async def describe(
    data: Annotated[DescribeForm, Body(media_type=RequestEncodingType.MULTI_PART)],  # type: ignore[valid-type]
    service: FromDishka[ImageInfoService],
    settings: FromDishka[Settings],
) -> dict[str, object]:
    """Answer the image's size, format and mean colour."""
    image = await read_image_source(data, settings)
    return await service.describe(image, options_of(data, DescribeOptions))


class ImageInfoSlice(Slice):
    """Describe an image as JSON."""

    name = "image_info"
    title = "Image info"
    description = "Size, source format, alpha and mean colour of an image."
    path = "/image-info"
    options_type = DescribeOptions
    capabilities = Capabilities(produces=("json",))

    def build_router(self) -> Router:
        """Routes under /api/v1/image-info."""
        return Router(path=self.path, route_handlers=[describe], tags=["image_info"])

    def providers(self) -> Sequence[Provider]:
        """The plugin's service."""
        return [ImageInfoProvider()]

    async def run(self, container: AsyncContainer, image: bytes, options: Struct) -> SliceResult:
        """Describe one image (used by tasks)."""
        assert isinstance(options, DescribeOptions)
        service = await container.get(ImageInfoService)
        body = await service.describe(image, options)
        return SliceResult(content=msgspec.json.encode(body), media_type="application/json")


SLICE = ImageInfoSlice()
