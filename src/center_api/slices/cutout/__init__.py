"""The cutout slice: background removal.

May import: `center_api.sdk` and this package.
"""

from collections.abc import Sequence

from dishka import AsyncContainer, Provider
from litestar import Router
from msgspec import Struct

from center_api.sdk import Capabilities, ModelRequirement, Slice, SliceResult
from center_api.sdk.vision import DEFAULT_SEGMENTATION_MODEL
from center_api.slices.cutout.provider import CutoutProvider
from center_api.slices.cutout.schemas import CutoutOptions
from center_api.slices.cutout.service import CutoutService


class CutoutSlice(Slice):
    """Remove the background of a photo: the subject on transparency."""

    name = "cutout"
    title = "Background removal"
    description = "Cut the main subject out of a photo; the result keeps a soft alpha edge."
    path = "/cutout"
    options_type = CutoutOptions
    models = (
        ModelRequirement(id=DEFAULT_SEGMENTATION_MODEL),
        ModelRequirement(id="u2netp", required=False),
    )
    capabilities = Capabilities(produces=("image",), gives_image=True)

    def build_router(self) -> Router:
        """Routes under /api/v1/cutout."""
        from center_api.slices.cutout.router import build_router  # noqa: PLC0415

        return build_router()

    def providers(self) -> Sequence[Provider]:
        """The cutout service."""
        return [CutoutProvider()]

    async def run(self, container: AsyncContainer, image: bytes, options: Struct) -> SliceResult:
        """Cut out one image (used by tasks)."""
        assert isinstance(options, CutoutOptions)
        service = await container.get(CutoutService)
        return await service.segment(image, options)


SLICE = CutoutSlice()
