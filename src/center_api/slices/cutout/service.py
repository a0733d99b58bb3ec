"""Cutout: decode → scale → segment → clean → compose → encode, in one inference slot."""

import time
from typing import Any

import cv2
import numpy as np

from center_api.core.errors import FormatNeedsBackgroundError, ValidationError
from center_api.core.settings import ImageSettings, Settings
from center_api.kernel.imaging import MEDIA_TYPES, decode_image, encode_image
from center_api.kernel.kernel import InferenceKernel
from center_api.registry.spec import SliceResult
from center_api.slices.cutout.schemas import CutoutOptions
from center_api.vision.colors import RGBA, parse_color
from center_api.vision.compositing import cutout_rgba, flatten_on_color
from center_api.vision.geometry import expand_box, parse_margin, parse_roi
from center_api.vision.matting import clean_mask, estimate_foreground
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
            ValidationError: unknown model, bad colour/margin/roi, or jpg without a background.
            ModelNotAvailableError: the model's weights are not installed.
            InputError: the bytes are not an acceptable image.
            ServiceOverloadedError: no slot and no room in the wait queue.
        """
        self._check_model(options.model)
        background = parse_color(options.bg_color) if options.bg_color else None
        is_opaque = options.channels == "alpha" or (background is not None and background[3] == 255)
        if options.format == "jpg" and not is_opaque:
            raise FormatNeedsBackgroundError(
                "jpg has no transparency: add an opaque bg_color, use channels=alpha, or ask "
                "for png/webp.",
                details={"format": "jpg", "bg_color": options.bg_color},
            )
        return await self._kernel.run(
            lambda: self._segment_now(data, options, background), label="cutout"
        )

    def _check_model(self, model_id: str) -> None:
        store = self._kernel.store
        known = [m for m in store.ids() if store.spec(m).task == SEGMENTATION_TASK]
        if model_id not in known:
            raise ValidationError(
                f"Model {model_id!r} is not a segmentation model this server knows.",
                details={"model": model_id, "known": known},
            )
        store.require(model_id)  # fail before queueing, naming the pull command

    def _segment_now(
        self, data: bytes, options: CutoutOptions, background: RGBA | None
    ) -> SliceResult:
        start = time.perf_counter()
        image = decode_image(data, self._images)
        pixels = scale_for_output(image.pixels, options.size, self._images)
        height, width = pixels.shape[:2]
        rgb = pixels[..., :3]
        alpha = self._alpha(rgb, options)
        if options.channels == "alpha":
            out = alpha
        else:
            colour = estimate_foreground(rgb, alpha) if options.decontaminate else rgb
            out = cutout_rgba(np.dstack([colour, pixels[..., 3:]]), alpha)
        box = foreground_box(alpha)
        if options.crop and box is not None:
            margin = parse_margin(options.crop_margin, box[2], box[3])
            left, top, right, bottom = expand_box(
                (box[0], box[1], box[0] + box[2], box[1] + box[3]), margin, width, height
            )
            out, alpha = out[top:bottom, left:right], alpha[top:bottom, left:right]
            box = foreground_box(alpha)
        if background is not None and options.channels == "rgba":
            out = flatten_on_color(out, background)
        content = encode_image(np.ascontiguousarray(out), options.format, self._images)
        metadata = _metadata(image.width, image.height, out, box, options.model)
        metadata["processing_ms"] = round((time.perf_counter() - start) * 1000, 1)
        return SliceResult(
            content=content, media_type=MEDIA_TYPES[options.format], metadata=metadata
        )

    def _alpha(self, rgb: np.ndarray, options: CutoutOptions) -> np.ndarray:
        height, width = rgb.shape[:2]
        model = self._kernel.model(options.model)
        if options.roi is None:
            alpha = predict_alpha(model, rgb)
        else:
            left, top, right, bottom = parse_roi(options.roi, width, height)
            alpha = np.zeros((height, width), dtype=np.uint8)
            alpha[top:bottom, left:right] = predict_alpha(model, rgb[top:bottom, left:right])
        if options.post_process_mask:
            alpha = clean_mask(alpha)
        return alpha


def scale_for_output(pixels: np.ndarray, size: str, limits: ImageSettings) -> np.ndarray:
    """Downscale once (area filter) to the size the client asked for; never upscale."""
    height, width = pixels.shape[:2]
    cap = {"preview": limits.preview_megapixels, "auto": limits.auto_max_megapixels}.get(size)
    megapixels = width * height / 1e6
    if cap is None or megapixels <= cap:
        return pixels
    factor = (cap / megapixels) ** 0.5
    target = (max(1, int(width * factor)), max(1, int(height * factor)))
    return cv2.resize(pixels, target, interpolation=cv2.INTER_AREA)


def _metadata(
    input_width: int,
    input_height: int,
    out: np.ndarray,
    box: tuple[int, int, int, int] | None,
    model: str,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "width": int(out.shape[1]),
        "height": int(out.shape[0]),
        "input_width": input_width,
        "input_height": input_height,
        "model": model,
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
    return metadata
