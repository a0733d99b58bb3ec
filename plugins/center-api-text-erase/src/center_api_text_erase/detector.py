"""Text detection with a DB (Differentiable Binarization) network: PP-OCRv4's detector.

Pure numpy/OpenCV, no HTTP: ``detect_text`` runs inside a kernel slot. Pre- and
post-processing follow RapidOCR's defaults: BGR, sides a multiple of 32, x/255 then
(x-0.5)/0.5; the probability map is binarised at 0.3 (dilated 2x2), each region kept when its
mean probability reaches ``min_score``, its rotated box expanded by ``area*1.6/perimeter``.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from center_api import sdk

MODEL_ID = "ch-ppocr-v4-det"
_MIN_SIDE = 3
_MIN_EXPANDED_SIDE = 5
# OpenCV's rotated rectangle: ((cx, cy), (w, h), angle in degrees).
RotatedRect = tuple[Sequence[float], Sequence[float], float]


@dataclass(frozen=True)
class TextBox:
    """One text region: a rotated quadrilateral in image pixels and its mean probability."""

    points: np.ndarray  # (4, 2) int32, clockwise from the top-left
    score: float

    def bounds(self) -> tuple[int, int, int, int]:
        """Axis-aligned ``(x1, y1, x2, y2)`` around the quadrilateral."""
        x1, y1 = self.points.min(axis=0)
        x2, y2 = self.points.max(axis=0)
        return int(x1), int(y1), int(x2), int(y2)

    def center(self) -> tuple[float, float]:
        """Centre of the quadrilateral."""
        cx, cy = self.points.mean(axis=0)
        return float(cx), float(cy)

    def as_json(self) -> dict[str, object]:
        """JSON-ready description (plain ints and floats)."""
        return {
            "points": self.points.astype(int).tolist(),
            "box": list(self.bounds()),
            "score": round(self.score, 4),
        }


def detect_text(
    model: sdk.LoadedModel, rgb: np.ndarray, *, min_score: float = 0.5, max_side: int = 960
) -> list[TextBox]:
    """Find text regions in an RGB image.

    Args:
        model: the loaded ``ch-ppocr-v4-det`` model (``kernel.model(MODEL_ID)``).
        rgb: (H, W, 3) uint8 RGB pixels.
        min_score: regions whose mean text probability is below this are dropped.
        max_side: the image is scaled so its longest side is at most this for detection.

    Returns:
        Boxes in the original image's pixels, top to bottom then left to right.
    """
    height, width = rgb.shape[:2]
    tensor = _to_tensor(rgb, max_side)
    prob = np.asarray(model.run({model.input_names[0]: tensor})[0])[0, 0]
    params = model.spec.params
    binary = (prob > float(params.get("binary_threshold", 0.3))).astype(np.uint8)
    binary = cv2.dilate(binary, np.ones((2, 2), np.uint8))
    scale = np.array([width / prob.shape[1], height / prob.shape[0]], dtype=np.float32)
    boxes = _boxes_from_map(prob, binary, min_score, float(params.get("unclip_ratio", 1.6)))
    limit = int(params.get("max_candidates", 1000))
    found = []
    for points, score in boxes[:limit]:
        mapped = np.round(points * scale)
        mapped[:, 0] = np.clip(mapped[:, 0], 0, width - 1)
        mapped[:, 1] = np.clip(mapped[:, 1], 0, height - 1)
        found.append(TextBox(points=mapped.astype(np.int32), score=score))
    return sorted(found, key=lambda b: (b.bounds()[1] // 10, b.bounds()[0]))


def _to_tensor(rgb: np.ndarray, max_side: int) -> np.ndarray:
    height, width = rgb.shape[:2]
    ratio = min(1.0, max_side / max(height, width))
    new_h = max(32, round(height * ratio / 32) * 32)
    new_w = max(32, round(width * ratio / 32) * 32)
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    resized = cv2.resize(bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    normalised = (resized.astype(np.float32) / 255.0 - 0.5) / 0.5
    return normalised.transpose(2, 0, 1)[np.newaxis].copy()


def _boxes_from_map(
    prob: np.ndarray, binary: np.ndarray, min_score: float, unclip_ratio: float
) -> list[tuple[np.ndarray, float]]:
    contours, _ = cv2.findContours(binary, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)
    boxes = []
    for contour in contours:
        rect = cv2.minAreaRect(contour)
        if min(rect[1]) < _MIN_SIDE:
            continue
        points = cv2.boxPoints(rect)
        score = _mean_score(prob, points)
        if score < min_score:
            continue
        expanded = _unclip(rect, unclip_ratio)
        if min(expanded[1]) < _MIN_EXPANDED_SIDE:
            continue
        boxes.append((_order_points(cv2.boxPoints(expanded)), score))
    return boxes


def _mean_score(prob: np.ndarray, points: np.ndarray) -> float:
    """Mean probability inside the quadrilateral (RapidOCR's fast box score)."""
    height, width = prob.shape
    x1, y1 = np.clip(np.floor(points.min(axis=0)).astype(int), 0, [width - 1, height - 1])
    x2, y2 = np.clip(np.ceil(points.max(axis=0)).astype(int), 0, [width - 1, height - 1])
    mask = np.zeros((y2 - y1 + 1, x2 - x1 + 1), dtype=np.uint8)
    shifted = (points - np.array([x1, y1], dtype=np.float32)).astype(np.int32)
    cv2.fillPoly(mask, [shifted], 1)
    return float(cv2.mean(prob[y1 : y2 + 1, x1 : x2 + 1], mask)[0])


def _unclip(rect: RotatedRect, ratio: float) -> RotatedRect:
    """Grow a rotated rectangle by DB's offset ``area * ratio / perimeter`` on every side."""
    (cx, cy), (w, h), angle = rect
    distance = w * h * ratio / (2 * (w + h))
    return (cx, cy), (w + 2 * distance, h + 2 * distance), angle


def _order_points(points: np.ndarray) -> np.ndarray:
    """Top-left, top-right, bottom-right, bottom-left."""
    by_x = points[np.argsort(points[:, 0])]
    left, right = by_x[:2], by_x[2:]
    top_left, bottom_left = left[np.argsort(left[:, 1])]
    top_right, bottom_right = right[np.argsort(right[:, 1])]
    return np.array([top_left, top_right, bottom_right, bottom_left], dtype=np.float32)
