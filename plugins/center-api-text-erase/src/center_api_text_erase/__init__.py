"""Center API plugin: find the text in an image and erase it by inpainting."""

from collections.abc import Sequence
from pathlib import Path

from center_api import sdk
from center_api_text_erase.detector import MODEL_ID
from center_api_text_erase.provider import TextEraseProvider
from center_api_text_erase.schemas import EraseOptions
from center_api_text_erase.service import TextEraseService

MODELS_FILE = Path(__file__).with_name("models.toml")


class TextEraseSlice(sdk.Slice):
    """Detect text with PP-OCRv4 and erase it with OpenCV inpainting."""

    name = "text_erase"
    title = "Text erase"
    description = (
        "Find text (PP-OCRv4 DB detector, multilingual), build a dilated mask of it, and "
        "inpaint it away (Telea or Navier-Stokes); or answer the mask or the boxes."
    )
    path = "/text-erase"
    api_version = "1.3"
    options_type = EraseOptions
    models = (sdk.ModelRequirement(id=MODEL_ID),)
    model_specs = tuple(sdk.load_manifest(MODELS_FILE))
    capabilities = sdk.Capabilities(produces=("image", "mask", "json"), gives_image=True)

    def build_router(self) -> sdk.Router:
        """Routes under /api/v1/text-erase."""
        from center_api_text_erase.router import build_router  # noqa: PLC0415

        return build_router(self.path)

    def providers(self) -> Sequence[sdk.Provider]:
        """The text erase service."""
        return [TextEraseProvider()]

    def gives_image_with(self, options: sdk.Struct) -> bool:
        """An image (the erased image or its mask), unless the boxes were asked for (JSON)."""
        return not (isinstance(options, EraseOptions) and options.output == "boxes")

    async def run(
        self, container: sdk.AsyncContainer, image: bytes, options: sdk.Struct
    ) -> sdk.SliceResult:
        """Erase the text of one image (used by tasks)."""
        if not isinstance(options, EraseOptions):
            raise sdk.ValidationError(
                "text_erase takes EraseOptions.", details={"got": type(options).__name__}
            )
        service = await container.get(TextEraseService)
        return await service.erase(image, options)


SLICE = TextEraseSlice()
