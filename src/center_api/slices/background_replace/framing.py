"""ID-photo framing: find the head from face landmarks and the subject mask, then place it.

The head's height is measured from the crown (top of the subject mask above the face, hair
included, as the US rules and most photo studios measure) to the chin. Detectors do not give
the chin: it is placed below the mouth at ``CHIN_BELOW_MOUTH`` times the eye-to-mouth distance
(anthropometric average; the detector's box bottom runs past the chin on most faces). The photo
is turned so the eyes are level, scaled so the head has the asked-for share of the height, and
shifted so the face is centred and the crown sits at the asked-for top margin.
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from center_api.sdk.vision import Face

CHIN_BELOW_MOUTH = 0.65
# Crown-to-eyes over eyes-to-chin: about 1 for a bare head; hair adds, a mask gap removes.
_CROWN_SHARE_DEFAULT = 1.05
_CROWN_SHARE_RANGE = (0.8, 1.7)
# Rough crown-to-chin height over the eye-to-mouth distance, to pick a working resolution.
_HEAD_PER_EYE_TO_MOUTH = 3.5


@dataclass(frozen=True)
class Head:
    """Where a head is, in the frame turned so the eyes are level.

    Attributes:
        eyes: (x, y) midpoint between the eyes (the same point in both frames).
        roll: degrees to turn the image (counter-clockwise) to level the eyes.
        crown: y of the top of the head in the levelled frame.
        chin: y of the chin in the levelled frame.
    """

    eyes: tuple[float, float]
    roll: float
    crown: float
    chin: float

    @property
    def height(self) -> float:
        """Crown to chin in pixels."""
        return self.chin - self.crown

    def levelling(self) -> np.ndarray:
        """The 2x3 rotation about the eyes that levels them."""
        return cv2.getRotationMatrix2D(self.eyes, self.roll, 1.0)


def working_scale(face: Face, head_px: float) -> float:
    """Downscale factor (≤ 1) so a head becomes about twice ``head_px`` tall: enough detail.

    Lets the expensive steps (matting, foreground estimation) run on as few pixels as needed.
    """
    eyes = (face.landmarks[0] + face.landmarks[1]) / 2
    mouth = (face.landmarks[3] + face.landmarks[4]) / 2
    head = float(np.linalg.norm(mouth - eyes)) * _HEAD_PER_EYE_TO_MOUTH
    return min(1.0, 2.0 * head_px / max(head, 1.0))


def locate_head(face: Face, alpha: np.ndarray, *, level: bool = True) -> Head:
    """Measure the head of ``face`` using its landmarks and the subject mask ``alpha``.

    Args:
        face: the one face, in ``alpha``'s pixels.
        alpha: (H, W) uint8 subject mask of the same image.
        level: turn the photo so the eyes are level (roll correction).
    """
    left_eye, right_eye, _, mouth_left, mouth_right = (p.astype(np.float64) for p in face.landmarks)
    eyes = (left_eye + right_eye) / 2
    dx, dy = right_eye - left_eye
    roll = math.degrees(math.atan2(dy, dx)) if level else 0.0
    head = Head(eyes=(float(eyes[0]), float(eyes[1])), roll=roll, crown=0.0, chin=0.0)
    rotation = head.levelling()
    mouth = rotation @ np.append((mouth_left + mouth_right) / 2, 1.0)
    eye_to_mouth = max(float(mouth[1]) - eyes[1], 1.0)
    chin = float(mouth[1]) + CHIN_BELOW_MOUTH * eye_to_mouth
    span = chin - eyes[1]
    measured = _mask_crown(alpha, rotation, head.eyes, max(face.eye_distance, 4.0))
    low, high = (eyes[1] - share * span for share in reversed(_CROWN_SHARE_RANGE))
    crown = eyes[1] - _CROWN_SHARE_DEFAULT * span if measured is None else measured
    return Head(eyes=head.eyes, roll=roll, crown=float(np.clip(crown, low, high)), chin=chin)


def _mask_crown(
    alpha: np.ndarray, rotation: np.ndarray, eyes: tuple[float, float], eye_distance: float
) -> float | None:
    """Top of the mask's solid run above the eyes, in a band as wide as the eyes are apart.

    None when the run reaches the top of the photo (the crown is cut off) or there is no mask.
    """
    levelled = cv2.warpAffine(alpha, rotation, alpha.shape[::-1], flags=cv2.INTER_LINEAR)
    eye_x, eye_y = round(eyes[0]), min(round(eyes[1]), alpha.shape[0] - 1)
    half = max(2, round(eye_distance / 2))
    band = levelled[: eye_y + 1, max(0, eye_x - half) : eye_x + half + 1]
    if band.size == 0:
        return None
    solid = np.any(band >= 128, axis=1).astype(bool)
    if not solid[-1]:
        return None
    gaps = np.flatnonzero(~solid)
    return None if gaps.size == 0 else float(gaps[-1] + 1)


def framing(
    head: Head, size: tuple[int, int], head_height_ratio: float, top_margin_ratio: float
) -> np.ndarray:
    """The 2x3 affine matrix from the source image to the ID photo of ``size`` (width, height).

    The head gets ``head_height_ratio`` of the height, the crown sits ``top_margin_ratio`` of
    the height below the top edge, and the eyes' midpoint is centred horizontally.
    """
    width, height = size
    scale = head_height_ratio * height / max(head.height, 1.0)
    place = np.array(
        [
            [scale, 0.0, width / 2 - scale * head.eyes[0]],
            [0.0, scale, top_margin_ratio * height - scale * head.crown],
            [0.0, 0.0, 1.0],
        ]
    )
    return (place @ np.vstack([head.levelling(), [0.0, 0.0, 1.0]]))[:2]


def frame_subject(
    foreground: np.ndarray, alpha: np.ndarray, matrix: np.ndarray, size: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Warp subject colours and mask into the photo (``size`` = width, height).

    Shrinks first with an area filter when the photo is much smaller (no aliasing), and
    repeats edge pixels outward, so a portrait cut off at the chest continues to the bottom.
    """
    scale = math.sqrt(abs(float(np.linalg.det(matrix[:, :2]))))
    if scale < 0.75:
        height, width = alpha.shape
        small = (max(1, round(width * scale)), max(1, round(height * scale)))
        foreground = cv2.resize(foreground, small, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.diag([width / small[0], height / small[1], 1.0])
    flags = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_LINEAR
    warped = [
        cv2.warpAffine(plane, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        for plane in (foreground, alpha)
    ]
    return warped[0], warped[1]
