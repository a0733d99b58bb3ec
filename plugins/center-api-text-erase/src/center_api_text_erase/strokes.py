"""The text's own pixels inside each detected box: what to erase, and nothing more.

A detection box holds the letters and a lot of what lies between and around them: the paper,
arrows, pictograms, ruling lines. Per box:

1. **Background colour**: the median (CIELAB) of the pixels along the inside of the box's
   edge; the detector's boxes are grown around the words, so that rim is mostly background.
2. **Text pixels**: pixels whose colour distance from it is above an Otsu threshold over the
   box (at least `MIN_CONTRAST`), dark-on-light and light-on-dark alike.
3. **Graphics stay**: a component that runs the whole length of the box, end to end (a ruling
   line, an arrow's shaft, a frame), goes on outside it: it is not a letter, it is kept.
4. **Stroke width**: from the distance transform of the text pixels; the mask is grown by
   half of it and a pixel, so anti-aliased rims and compression ringing go too (no ghost
   letters) while the paper between the letters stays.

When the rim is not background (more than `MAX_TEXT_SHARE` of the box comes out as text:
the background guess was the letters' colour) the whole box is erased, as before.
"""

import cv2
import numpy as np

from center_api_text_erase.detector import TextBox

# Lab distance (OpenCV's 8-bit Lab: L in 0..255) below which nothing is text, whatever Otsu says.
MIN_CONTRAST = 20.0
# A box with more of its pixels than this found to be text: the background guess failed.
MAX_TEXT_SHARE = 0.6
# The rim that gives the background: this many pixels inside the box's edge.
_RIM = 2


def stroke_mask(rgb: np.ndarray, boxes: list[TextBox], extra: int = 0) -> np.ndarray:
    """A (H, W) uint8 mask, 255 on the text pixels of ``boxes`` grown by their stroke width.

    Args:
        rgb: (H, W, 3) uint8 photo.
        boxes: the detector's boxes.
        extra: grow every box's mask by this many more pixels.
    """
    height, width = rgb.shape[:2]
    mask = np.zeros((height, width), np.uint8)
    for box in boxes:
        x1, y1, x2, y2 = box.bounds()
        x2, y2 = min(width, x2 + 1), min(height, y2 + 1)
        if x2 - x1 < 3 or y2 - y1 < 3:
            continue
        inside = np.zeros((y2 - y1, x2 - x1), np.uint8)
        cv2.fillPoly(inside, [(box.points - np.array([x1, y1])).astype(np.int32)], 1)
        found = _box_strokes(rgb[y1:y2, x1:x2], inside.astype(bool), extra)
        mask[y1:y2, x1:x2] |= found
    return mask


def _box_strokes(crop: np.ndarray, inside: np.ndarray, extra: int) -> np.ndarray:
    """The text mask (0/255) of one box's crop."""
    kernel = np.ones((3, 3), np.uint8)
    core = cv2.erode(
        inside.astype(np.uint8),
        kernel,
        iterations=_RIM,
        borderType=cv2.BORDER_CONSTANT,
        borderValue=0,
    ).astype(bool)
    rim = inside & ~core
    if rim.sum() < 8 or core.sum() < 8:
        return np.where(inside, 255, 0).astype(np.uint8)
    lab = cv2.cvtColor(np.ascontiguousarray(crop), cv2.COLOR_RGB2LAB).astype(np.float32)
    background = np.median(lab[rim], axis=0)
    distance = np.linalg.norm(lab - background, axis=2)
    text = inside & (distance > _threshold(distance[inside]))
    if text.sum() > MAX_TEXT_SHARE * inside.sum():
        return np.where(inside, 255, 0).astype(np.uint8)
    text = _without_crossings(text, rim)
    if not text.any():
        return np.zeros(inside.shape, np.uint8)
    # Half the stroke width reaches past a stroke's rim from its middle; one more pixel takes
    # the anti-aliasing and the compression ringing around it.
    reach = _stroke_width(text) // 2 + 1 + extra
    grow = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    grown = cv2.dilate(text.astype(np.uint8), grow) > 0
    return np.where(grown & inside, 255, 0).astype(np.uint8)


def _threshold(values: np.ndarray) -> float:
    """Otsu's threshold of colour distances, never below `MIN_CONTRAST`."""
    scaled = np.clip(values, 0, 255).astype(np.uint8).reshape(-1, 1)
    otsu, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return max(float(otsu), MIN_CONTRAST)


def _without_crossings(text: np.ndarray, rim: np.ndarray) -> np.ndarray:
    """``text`` without the components that run along the box from one end to the other.

    A letter may be as tall as its line's box, never as long: a component reaching both ends
    of the box's long side (on its rim) and spanning it is a line or a frame, not text.
    """
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        text.astype(np.uint8), connectivity=8
    )
    if count <= 1:
        return text
    height, width = text.shape
    rows, cols = np.nonzero(rim)
    along, length, extent = (cols, width, cv2.CC_STAT_WIDTH)
    if height > width:
        along, length, extent = (rows, height, cv2.CC_STAT_HEIGHT)
    start = set(np.unique(labels[rows[along < 0.2 * length], cols[along < 0.2 * length]]))
    end = set(np.unique(labels[rows[along >= 0.8 * length], cols[along >= 0.8 * length]]))
    for label in (start & end) - {0}:
        if stats[label, extent] >= 0.9 * length:
            text = text & (labels != label)
    return text


def _stroke_width(text: np.ndarray) -> int:
    """About the strokes' width in pixels: twice the typical distance to their edge."""
    distance = cv2.distanceTransform(text.astype(np.uint8), cv2.DIST_L2, 3)
    return max(1, round(2 * float(np.percentile(distance[text], 90))))
