"""The face_enhance slice: detect faces, restore them, paste them back.

Owns its image code too: alignment and paste-back (`restore`), the classic filter chain
(`classic`) and the restoration networks (`networks`).
May import: `center_api.sdk` and this package.
"""

from collections.abc import Sequence

from dishka import AsyncContainer, Provider
from litestar import Router
from msgspec import Struct

from center_api.sdk import Capabilities, ModelRequirement, Slice, SliceResult
from center_api.sdk.vision import MESH_MODEL
from center_api.slices.face_enhance.engines import PREFERENCE, SR_MODEL
from center_api.slices.face_enhance.provider import FaceEnhanceProvider
from center_api.slices.face_enhance.schemas import FaceEnhanceOptions
from center_api.slices.face_enhance.service import DETECTOR, FaceEnhanceService


class FaceEnhanceSlice(Slice):
    """Restore faces: sharper, cleaner, pasted back without seams."""

    name = "face_enhance"
    title = "Face enhancement"
    description = (
        "Detect faces, align them to the FFHQ template, restore them (GFPGAN, CodeFormer, "
        "RestoreFormer++, GPEN, Real-ESRGAN or a classic filter chain) and paste them back."
    )
    path = "/face-enhance"
    options_type = FaceEnhanceOptions
    models = (
        ModelRequirement(id=DETECTOR),
        ModelRequirement(id=MESH_MODEL),
        ModelRequirement(id=SR_MODEL, required=False),
        *(ModelRequirement(id=model_id, required=False) for model_id in PREFERENCE),
    )
    capabilities = Capabilities(produces=("image", "json"), gives_image=True)

    def build_router(self) -> Router:
        """Routes under /api/v1/face-enhance."""
        from center_api.slices.face_enhance.router import build_router  # noqa: PLC0415

        return build_router()

    def providers(self) -> Sequence[Provider]:
        """The face enhancement service."""
        return [FaceEnhanceProvider()]

    def gives_image_with(self, options: Struct) -> bool:
        """An image, unless the faces come instead of it (JSON)."""
        return not (isinstance(options, FaceEnhanceOptions) and options.return_faces == "instead")

    async def run(self, container: AsyncContainer, image: bytes, options: Struct) -> SliceResult:
        """Enhance one image (used by tasks)."""
        assert isinstance(options, FaceEnhanceOptions)
        service = await container.get(FaceEnhanceService)
        return await service.enhance(image, options)


SLICE = FaceEnhanceSlice()
