"""Cutout: decode → segment → compose → encode, all inside one inference slot."""

import time

from center_api.core.errors import ValidationError
from center_api.core.settings import Settings
from center_api.kernel.imaging import MEDIA_TYPES, decode_image, encode_image
from center_api.kernel.kernel import InferenceKernel
from center_api.registry.spec import SliceResult
from center_api.slices.cutout.schemas import CutoutOptions
from center_api.vision.compositing import cutout_rgba
from center_api.vision.segmentation import foreground_box, predict_alpha

SEGMENTATION_TASK = "segmentation"


class CutoutService:
    """Background removal for one image."""

    def __init__(self, kernel: InferenceKernel, settings: Settings) -> None:
        self._kernel = kernel
        self._images = settings.images

    async def segment(self, data: bytes, options: CutoutOptions) -> SliceResult:
        """Cut the subject out of ``data``.

        Raises:
            ValidationError: ``options.model`` is not a segmentation model.
            ModelNotAvailableError: its weights are not installed.
            InputError: the bytes are not an acceptable image.
            ServiceOverloadedError: no slot and no room in the wait queue.
        """
        store = self._kernel.store
        known = [m for m in store.ids() if store.spec(m).task == SEGMENTATION_TASK]
        if options.model not in known:
            raise ValidationError(
                f"Model {options.model!r} is not a segmentation model this server knows.",
                details={"model": options.model, "known": known},
            )
        store.require(options.model)  # fail before queueing, with the pull command
        return await self._kernel.run(lambda: self._segment_now(data, options), label="cutout")

    def _segment_now(self, data: bytes, options: CutoutOptions) -> SliceResult:
        start = time.perf_counter()
        image = decode_image(data, self._images)
        alpha = predict_alpha(self._kernel.model(options.model), image.rgb())
        content = encode_image(cutout_rgba(image.pixels, alpha), options.format, self._images)
        box = foreground_box(alpha)
        metadata: dict[str, object] = {
            "width": image.width,
            "height": image.height,
            "model": options.model,
            "foreground_found": box is not None,
        }
        if box is not None:
            left, top, width, height = box
            metadata |= {
                "foreground_left": left,
                "foreground_top": top,
                "foreground_width": width,
                "foreground_height": height,
            }
        metadata["processing_ms"] = round((time.perf_counter() - start) * 1000, 1)
        return SliceResult(
            content=content, media_type=MEDIA_TYPES[options.format], metadata=metadata
        )
