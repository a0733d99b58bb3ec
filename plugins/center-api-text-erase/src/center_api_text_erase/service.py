"""Text erase: decode → detect → filter → mask → inpaint → encode, in one kernel slot."""

import time

import msgspec
import numpy as np

from center_api import sdk
from center_api_text_erase.detector import MODEL_ID, TextBox, detect_text
from center_api_text_erase.masking import filter_boxes, inpaint, parse_regions, text_mask
from center_api_text_erase.schemas import DetectOptions, EraseOptions
from center_api_text_erase.strokes import stroke_mask

# The box mask's growth when none is asked for.
BOX_DILATION = 4


class TextEraseService:
    """Detect and erase text in one image; all pixel work runs in the shared kernel's slots."""

    def __init__(self, kernel: sdk.InferenceKernel, settings: sdk.Settings) -> None:
        self._kernel = kernel
        self._images = settings.images

    async def detect(self, data: bytes, options: DetectOptions) -> sdk.SliceResult:
        """The text boxes of ``data`` as JSON.

        Raises:
            ModelNotAvailableError: the detector's weights are not installed.
            InputError: the bytes are not an acceptable image.
            ValidationError: a malformed include/exclude region.
            ServiceOverloadedError: no slot and no room in the wait queue.
        """
        self._kernel.store.require(MODEL_ID)
        return await self._kernel.run(lambda: self._detect_now(data, options), label="text_detect")

    async def erase(self, data: bytes, options: EraseOptions) -> sdk.SliceResult:
        """``data`` with its text inpainted away (or the mask, or the boxes as JSON).

        Raises:
            Like `detect`.
        """
        self._kernel.store.require(MODEL_ID)
        return await self._kernel.run(lambda: self._erase_now(data, options), label="text_erase")

    def _find(self, pixels: np.ndarray, options: DetectOptions) -> list[TextBox]:
        height, width = pixels.shape[:2]
        include = parse_regions(options.include, width, height)
        exclude = parse_regions(options.exclude, width, height)
        model = self._kernel.model(MODEL_ID)
        boxes = detect_text(
            model, pixels[..., :3], min_score=options.min_score, max_side=options.max_side
        )
        return filter_boxes(boxes, include, exclude)

    def _detect_now(self, data: bytes, options: DetectOptions) -> sdk.SliceResult:
        start = time.perf_counter()
        image = sdk.decode_image(data, self._images)
        boxes = self._find(image.pixels, options)
        return _boxes_result(image, boxes, start)

    def _erase_now(self, data: bytes, options: EraseOptions) -> sdk.SliceResult:
        start = time.perf_counter()
        image = sdk.decode_image(data, self._images)
        boxes = self._find(image.pixels, options)
        if options.output == "boxes":
            return _boxes_result(image, boxes, start)
        mask = _erase_mask(image.pixels, boxes, options)
        if options.output == "mask":
            out = mask
        else:
            out = inpaint(image.pixels, mask, options.method, options.radius)
            if options.format == "jpg":
                out = out[..., :3]
        content = sdk.encode_image(np.ascontiguousarray(out), options.format, self._images)
        metadata = {
            "width": image.width,
            "height": image.height,
            "model": MODEL_ID,
            "text_boxes": len(boxes),
            "erased_share": _share(mask),
            "masked_share": _share(mask),  # its former name
            "processing_ms": round((time.perf_counter() - start) * 1000, 1),
        }
        return sdk.SliceResult(
            content=content, media_type=sdk.MEDIA_TYPES[options.format], metadata=metadata
        )


def _erase_mask(pixels: np.ndarray, boxes: list[TextBox], options: EraseOptions) -> np.ndarray:
    """What to inpaint: the text's strokes in every box, or the whole boxes."""
    if options.mask == "strokes":
        return stroke_mask(pixels[..., :3], boxes, options.dilation or 0)
    dilation = BOX_DILATION if options.dilation is None else options.dilation
    return text_mask(pixels.shape[:2], boxes, dilation)


def _share(mask: np.ndarray) -> float:
    """The share of the image a mask covers (the ``X-Erased-Share`` header)."""
    return round(float(np.count_nonzero(mask)) / max(mask.size, 1), 4)


def _boxes_result(image: sdk.DecodedImage, boxes: list[TextBox], start: float) -> sdk.SliceResult:
    body = {
        "width": image.width,
        "height": image.height,
        "model": MODEL_ID,
        "count": len(boxes),
        "boxes": [box.as_json() for box in boxes],
        "processing_ms": round((time.perf_counter() - start) * 1000, 1),
    }
    metadata = {k: v for k, v in body.items() if k != "boxes"}
    return sdk.SliceResult(
        content=msgspec.json.encode(body), media_type=sdk.JSON_MEDIA_TYPE, metadata=metadata
    )
