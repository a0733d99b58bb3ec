"""Example plugin slice: describe an image. It imports `center_api.sdk` and nothing else of it."""

from collections.abc import Sequence
from typing import Annotated

import msgspec
import numpy as np

from center_api import sdk


class DescribeOptions(sdk.Struct, forbid_unknown_fields=True, kw_only=True):
    """Options of one description."""

    decimals: Annotated[int, sdk.Meta(ge=0, le=6, description="Rounding of the mean colour.")] = 1


# Multipart form: one image source plus the options.
DescribeForm = sdk.image_form(DescribeOptions, "DescribeForm")


class ImageInfoService:
    """Decodes in a kernel slot and summarises the pixels."""

    def __init__(self, kernel: sdk.InferenceKernel, settings: sdk.Settings) -> None:
        self._kernel = kernel
        self._settings = settings

    async def describe(self, data: bytes, options: DescribeOptions) -> dict[str, object]:
        """Size, format, alpha and mean colour of ``data``."""

        def job() -> dict[str, object]:
            image = sdk.decode_image(data, self._settings.images)
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


class ImageInfoProvider(sdk.Provider):
    """The plugin's services."""

    service = sdk.provide(ImageInfoService, scope=sdk.Scope.REQUEST)


describe = sdk.image_route(
    "/describe",
    DescribeForm,
    DescribeOptions,
    ImageInfoService.describe,
    summary="Describe an image",
    returns=dict[str, object],
)


class ImageInfoSlice(sdk.Slice):
    """Describe an image as JSON."""

    name = "image_info"
    title = "Image info"
    description = "Size, source format, alpha and mean colour of an image."
    path = "/image-info"
    options_type = DescribeOptions
    capabilities = sdk.Capabilities(produces=("json",))

    def build_router(self) -> sdk.Router:
        """Routes under /api/v1/image-info."""
        return sdk.Router(path=self.path, route_handlers=[describe], tags=["image_info"])

    def providers(self) -> Sequence[sdk.Provider]:
        """The plugin's service."""
        return [ImageInfoProvider()]

    async def run(
        self, container: sdk.AsyncContainer, image: bytes, options: sdk.Struct
    ) -> sdk.SliceResult:
        """Describe one image (used by tasks)."""
        assert isinstance(options, DescribeOptions)
        service = await container.get(ImageInfoService)
        body = await service.describe(image, options)
        return sdk.SliceResult(content=msgspec.json.encode(body), media_type=sdk.JSON_MEDIA_TYPE)


SLICE = ImageInfoSlice()
