"""The background_replace slice: the subject on a new background, ID photos.

Owns its image code too: backgrounds, light, edges, presets, ID-photo framing, print output.
May import: `center_api.sdk` and this package.
"""

from collections.abc import Sequence

from dishka import AsyncContainer, Provider
from litestar import Router
from msgspec import Struct

from center_api.sdk import Capabilities, ModelRequirement, Slice, SliceResult, ValidationError
from center_api.sdk.vision import DEFAULT_SEGMENTATION_MODEL
from center_api.slices.background_replace.provider import BackgroundReplaceProvider
from center_api.slices.background_replace.schemas import (
    BackgroundReplaceOptions,
    BlurOptions,
    ColorOptions,
    GradientOptions,
    IdPhotoOptions,
    ImageOptions,
)
from center_api.slices.background_replace.service import BackgroundReplaceService

_MODES = (ColorOptions, GradientOptions, ImageOptions, BlurOptions, IdPhotoOptions)


class BackgroundReplaceSlice(Slice):
    """Put a photo's subject on a colour, gradient, other photo or its own blurred background."""

    name = "background_replace"
    title = "Background replacement"
    description = (
        "The subject on a new background (colour, gradient, image, blur) with clean edges, "
        "or framed as an ID photo by a standard size's head rules."
    )
    path = "/background-replace"
    options_type = BackgroundReplaceOptions
    models = (
        ModelRequirement(id=DEFAULT_SEGMENTATION_MODEL),
        ModelRequirement(id="u2netp", required=False),
        ModelRequirement(id="centerface", required=False),
    )
    capabilities = Capabilities(produces=("image",), gives_image=True)

    def build_router(self) -> Router:
        """Routes under /api/v1/background-replace."""
        from center_api.slices.background_replace.router import build_router  # noqa: PLC0415

        return build_router()

    def providers(self) -> Sequence[Provider]:
        """The background-replace service."""
        return [BackgroundReplaceProvider()]

    async def run(self, container: AsyncContainer, image: bytes, options: Struct) -> SliceResult:
        """Replace one image's background (used by tasks).

        ``options`` is a `BackgroundReplaceOptions` (or one mode's options directly); the image
        mode's background comes from its ``background_url`` or ``background_b64``.
        """
        mode = options.replace if isinstance(options, BackgroundReplaceOptions) else options
        if not isinstance(mode, _MODES):
            raise ValidationError(
                "background_replace takes BackgroundReplaceOptions.",
                details={"got": type(options).__name__},
            )
        service = await container.get(BackgroundReplaceService)
        return await service.replace(image, mode)


SLICE = BackgroundReplaceSlice()
