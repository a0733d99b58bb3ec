"""From text boxes to an erase mask, region filters, and the inpainting itself."""

import cv2
import numpy as np

from center_api import sdk
from center_api_text_erase.detector import TextBox

_METHODS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}


def parse_regions(text: str | None, width: int, height: int) -> list[tuple[int, int, int, int]]:
    """``"x1 y1 x2 y2; ..."`` (px or %) → boxes clipped to the image.

    Raises:
        ValidationError: a region without four values or empty inside the image.
    """
    if not text or not text.strip():
        return []
    return [sdk.vision.parse_roi(part, width, height) for part in text.split(";") if part.strip()]


def filter_boxes(
    boxes: list[TextBox],
    include: list[tuple[int, int, int, int]],
    exclude: list[tuple[int, int, int, int]],
) -> list[TextBox]:
    """Keep boxes whose centre is inside an ``include`` region (if any) and no ``exclude`` one."""

    def inside(box: TextBox, region: tuple[int, int, int, int]) -> bool:
        cx, cy = box.center()
        return region[0] <= cx < region[2] and region[1] <= cy < region[3]

    return [
        box
        for box in boxes
        if (not include or any(inside(box, r) for r in include))
        and not any(inside(box, r) for r in exclude)
    ]


def text_mask(shape: tuple[int, int], boxes: list[TextBox], dilation: int) -> np.ndarray:
    """A (H, W) uint8 mask, 255 on the boxes grown by ``dilation`` pixels (elliptic kernel)."""
    mask: np.ndarray = np.zeros(shape, dtype=np.uint8)
    if boxes:
        cv2.fillPoly(mask, [box.points.astype(np.int32) for box in boxes], 255)
    if dilation > 0 and boxes:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * dilation + 1, 2 * dilation + 1))
        mask = cv2.dilate(mask, kernel)
    return mask


def inpaint(pixels: np.ndarray, mask: np.ndarray, method: str, radius: int) -> np.ndarray:
    """Fill the masked pixels from their surroundings; alpha (if any) is kept as it was.

    Pixels outside ``mask`` are returned unchanged.
    """
    if not mask.any():
        return pixels.copy()
    bgr = cv2.cvtColor(np.ascontiguousarray(pixels[..., :3]), cv2.COLOR_RGB2BGR)
    filled = cv2.cvtColor(cv2.inpaint(bgr, mask, radius, _METHODS[method]), cv2.COLOR_BGR2RGB)
    out = pixels.copy()
    outside = mask == 0
    filled[outside] = pixels[..., :3][outside]  # inpaint leaves them alone; make it certain
    out[..., :3] = filled
    return out
