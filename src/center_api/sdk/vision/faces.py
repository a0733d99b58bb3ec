"""Face detection with five landmarks, shared by every slice that works on faces.

``detect_faces`` picks the decoder for the loaded detector (``centerface`` or ``yunet``),
runs it on a copy of the image no larger than ``max_side``, merges overlapping candidates with
NMS and maps boxes and landmarks back to the original image's pixels. Callers run it inside a
kernel slot: it is CPU-heavy and calls the model.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from center_api.core.logging import get_logger
from center_api.kernel.sessions import LoadedModel
from center_api.sdk.vision.face_decoders import Candidates, decode_centerface, decode_yunet

DETECTOR_MODELS: tuple[str, ...] = ("centerface", "yunet")

_Decoder = Callable[[LoadedModel, np.ndarray, float], Candidates]
_DECODERS: dict[str, _Decoder] = {"centerface": decode_centerface, "yunet": decode_yunet}

logger = get_logger("center_api.faces")


@dataclass(frozen=True)
class Face:
    """One detected face in the pixels of the original image.

    Attributes:
        box: x1, y1, x2, y2.
        score: detector confidence in [0, 1].
        landmarks: (5, 2) float32 x, y: left eye, right eye, nose, left mouth corner, right
            mouth corner, where left/right are as seen in the image (for an upright face the
            left eye has the smaller x).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray = field(compare=False, repr=False)

    @property
    def eye_distance(self) -> float:
        """Pixels between the two eye landmarks."""
        return float(np.linalg.norm(self.landmarks[1] - self.landmarks[0]))

    @property
    def width(self) -> float:
        """Box width in pixels."""
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        """Box height in pixels."""
        return self.box[3] - self.box[1]


def detect_faces(
    model: LoadedModel,
    rgb: np.ndarray,
    *,
    score_threshold: float = 0.5,
    nms_iou: float = 0.3,
    max_side: int = 1280,
) -> list[Face]:
    """Detect faces and their five landmarks; faces sorted by score (desc).

    Args:
        model: a loaded detector whose manifest id is one of `DETECTOR_MODELS`.
        rgb: (H, W, 3) uint8 RGB image.
        score_threshold: candidates scoring at or below this are dropped.
        nms_iou: a candidate overlapping a better one by more than this IoU is dropped.
        max_side: the image is downscaled for detection so its longest side is at most this;
            results are mapped back to the original pixels. 0 disables downscaling.

    Returns:
        The faces, best first; an empty list when there are none.

    Raises:
        ValueError: the model is not a known detector, or ``rgb`` is not (H, W, 3) uint8.
        ModelLoadError: the session failed to run (raised by `LoadedModel.run`).
    """
    decoder = _DECODERS.get(model.spec.id)
    if decoder is None:
        raise ValueError(
            f"{model.spec.id!r} is not a face detector; expected one of {DETECTOR_MODELS}"
        )
    _check_image(rgb)
    small, factor = _downscale(rgb, max_side)
    candidates = decoder(model, small, score_threshold)
    keep = nms(candidates.boxes, candidates.scores, nms_iou)
    faces = [_to_face(candidates, index, factor) for index in keep]
    logger.debug("faces.detected", model=model.spec.id, count=len(faces), size=rgb.shape[:2])
    return faces


def _downscale(rgb: np.ndarray, max_side: int) -> tuple[np.ndarray, np.ndarray]:
    """Shrink ``rgb`` so its longest side is at most ``max_side``.

    Returns:
        The (possibly unchanged) image and the (x, y) factors mapping its pixels to the original.
    """
    height, width = rgb.shape[:2]
    longest = max(height, width)
    if max_side <= 0 or longest <= max_side:
        return rgb, np.ones(2, np.float32)
    ratio = max_side / longest
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    factor = np.array([width / size[0], height / size[1]], np.float32)
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), factor


def _to_face(candidates: Candidates, index: int, factor: np.ndarray) -> Face:
    """Candidate ``index`` as a `Face` in original-image pixels."""
    x1, y1, x2, y2 = (float(v) for v in candidates.boxes[index] * np.tile(factor, 2))
    return Face(
        box=(x1, y1, x2, y2),
        score=float(candidates.scores[index]),
        landmarks=(candidates.landmarks[index] * factor).astype(np.float32),
    )


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> list[int]:
    """Greedy non-maximum suppression.

    Args:
        boxes: (N, 4) x1, y1, x2, y2.
        scores: (N,) confidences.
        iou_threshold: a box overlapping a better kept box by more than this is dropped.

    Returns:
        Indices of the kept boxes, highest score first.
    """
    order = np.argsort(-scores, kind="stable")
    areas = np.clip(boxes[:, 2] - boxes[:, 0], 0, None) * np.clip(
        boxes[:, 3] - boxes[:, 1], 0, None
    )
    keep: list[int] = []
    while order.size:
        best, rest = int(order[0]), order[1:]
        keep.append(best)
        top_left = np.maximum(boxes[best, :2], boxes[rest, :2])
        bottom_right = np.minimum(boxes[best, 2:], boxes[rest, 2:])
        overlap = np.prod(np.clip(bottom_right - top_left, 0, None), axis=1)
        iou = overlap / np.maximum(areas[best] + areas[rest] - overlap, 1e-9)
        order = rest[iou <= iou_threshold]
    return keep


def _check_image(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8 or 0 in rgb.shape:
        raise ValueError(f"expected an (H, W, 3) uint8 RGB image, got {rgb.shape} {rgb.dtype}")
