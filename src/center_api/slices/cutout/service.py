"""Cutout: decode → scale → segment → clean → compose → encode, in one inference slot."""

import time
from functools import partial

import numpy as np

from center_api.sdk import (
    MEDIA_TYPES,
    FormatNeedsBackgroundError,
    InferenceKernel,
    Settings,
    SliceResult,
    decode_scaled,
    encode_image,
)
from center_api.sdk.vision import (
    RGBA,
    check_segmentation_model,
    clean_mask,
    cutout_rgba,
    estimate_foreground,
    expand_box,
    flatten_on_color,
    foreground_box,
    foreground_metadata,
    mask_uncertainty,
    parse_color,
    parse_margin,
    parse_roi,
    predict_alpha,
    predict_probability,
    refine_alpha,
)
from center_api.slices.cutout.schemas import CutoutOptions


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
        check_segmentation_model(self._kernel.store, options.model)
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

    def _segment_now(
        self, data: bytes, options: CutoutOptions, background: RGBA | None
    ) -> SliceResult:
        start = time.perf_counter()
        pixels, input_size = decode_scaled(data, options.size, self._images)
        height, width = pixels.shape[:2]
        alpha = self._alpha(pixels[..., :3], options)
        uncertainty = mask_uncertainty(alpha)
        out = alpha if options.channels == "alpha" else _cut_out(pixels, alpha, options)
        del pixels  # the photo is not needed past here: free it before encoding
        box = foreground_box(alpha)
        if options.crop and box is not None:
            margin = parse_margin(options.crop_margin, box[2], box[3])
            left, top, right, bottom = expand_box(
                (box[0], box[1], box[0] + box[2], box[1] + box[3]), margin, width, height
            )
            out, alpha = out[top:bottom, left:right], alpha[top:bottom, left:right]
        if background is not None and options.channels == "rgba":
            out = flatten_on_color(out, background)
        metadata = {
            "width": int(out.shape[1]),
            "height": int(out.shape[0]),
            "input_width": input_size[0],
            "input_height": input_size[1],
            "model": options.model,
            **foreground_metadata(alpha),
            "uncertainty": uncertainty,
        }
        del alpha
        content = encode_image(np.ascontiguousarray(out), options.format, self._images)
        metadata["processing_ms"] = round((time.perf_counter() - start) * 1000, 1)
        return SliceResult(
            content=content, media_type=MEDIA_TYPES[options.format], metadata=metadata
        )

    def _alpha(self, rgb: np.ndarray, options: CutoutOptions) -> np.ndarray:
        height, width = rgb.shape[:2]
        model = self._kernel.model(options.model)

        def segment(part: np.ndarray) -> np.ndarray:
            if options.refine:
                return refine_alpha(partial(predict_probability, model, flip=True), part)
            alpha = predict_alpha(model, part)
            return clean_mask(alpha) if options.post_process_mask else alpha

        if options.roi is None:
            return segment(rgb)
        left, top, right, bottom = parse_roi(options.roi, width, height)
        alpha = np.zeros((height, width), dtype=np.uint8)
        alpha[top:bottom, left:right] = segment(rgb[top:bottom, left:right])
        return alpha


def _cut_out(pixels: np.ndarray, alpha: np.ndarray, options: CutoutOptions) -> np.ndarray:
    """The subject on transparency (RGBA), its colours decontaminated if asked."""
    if not options.decontaminate:
        return cutout_rgba(pixels, alpha)
    colour = estimate_foreground(pixels[..., :3], alpha)
    if pixels.shape[2] == 4:  # keep the input's own alpha
        colour = np.dstack([colour, pixels[..., 3]])
    return cutout_rgba(colour, alpha)
