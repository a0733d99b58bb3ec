"""ID-photo framing: measure the head from the face mesh and the subject mask, then place it.

The head's height runs from the crown (top of the subject mask above the face, hair included,
as the US rules and most photo studios measure) to the chin. Both ends come from measurements,
not from the expression: the chin is the 468-point mesh's chin (a smile does not move it, where
a chin guessed below the mouth dropped with every open mouth), the eye line is the mean of the
mesh's eye contours, the roll is the angle of that line. The crown is the top of the mask's
solid run above the eyes, kept within `CROWN_SHARE_RANGE` of the eyes-to-chin span so a mask
that swallows a busy background or loses a bald head still gives a plausible head.

The photo is turned so the eyes are level, scaled so the head has the asked-for share of the
height, and shifted so the eyes are centred and the crown sits at the asked-for top margin.
Outside the source there is nothing: the warp leaves it transparent and the new background
shows there (never repeated edge pixels).
"""

import math
from dataclasses import dataclass

import cv2
import numpy as np

from center_api.sdk.vision import FaceMesh
from center_api.sdk.vision.face_mesh import FACE_LEFT, FACE_RIGHT

# Crown-to-eyes over eyes-to-chin: about 0.9-1.2 measured on the test portraits (hair
# included); outside this band the mask is wrong, not the head.
CROWN_SHARE_RANGE = (0.75, 1.5)
CROWN_SHARE_DEFAULT = 1.0
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
        left, right: x of the face's sides (cheeks) in the levelled frame.
        crown_cut: the hair runs into the top edge of the photo: the crown is not in it.
        crown_measured: the crown came from the mask (else it is estimated from the face).
    """

    eyes: tuple[float, float]
    roll: float
    crown: float
    chin: float
    left: float = 0.0
    right: float = 0.0
    crown_cut: bool = False
    crown_measured: bool = True

    @property
    def height(self) -> float:
        """Crown to chin in pixels."""
        return self.chin - self.crown

    def levelling(self) -> np.ndarray:
        """The 2x3 rotation about the eyes that levels them."""
        return cv2.getRotationMatrix2D(self.eyes, self.roll, 1.0)


def working_scale(landmarks: np.ndarray, head_px: float) -> float:
    """Downscale factor (≤ 1) so a head becomes about twice ``head_px`` tall: enough detail.

    Lets the expensive steps (matting, foreground estimation) run on as few pixels as needed.

    Args:
        landmarks: the detector's five points (eyes, nose, mouth corners).
        head_px: the head's height in the finished photo.
    """
    eyes = (landmarks[0] + landmarks[1]) / 2
    mouth = (landmarks[3] + landmarks[4]) / 2
    head = float(np.linalg.norm(mouth - eyes)) * _HEAD_PER_EYE_TO_MOUTH
    return min(1.0, 2.0 * head_px / max(head, 1.0))


def locate_head(mesh: FaceMesh, alpha: np.ndarray, *, level: bool = True) -> Head:
    """Measure the head of ``mesh`` using the subject mask ``alpha`` for the crown.

    Args:
        mesh: the face's 468 landmarks, in ``alpha``'s pixels.
        alpha: (H, W) uint8 subject mask of the same image.
        level: turn the photo so the eyes are level (roll correction).
    """
    eyes = mesh.eyes
    roll = mesh.roll if level else 0.0
    centre = (float(eyes[0]), float(eyes[1]))
    rotation = cv2.getRotationMatrix2D(centre, roll, 1.0)

    def levelled(point: np.ndarray) -> np.ndarray:
        return np.asarray(rotation @ np.append(point, 1.0), np.float64)

    chin = float(levelled(mesh.chin)[1])
    span = max(chin - centre[1], 1.0)
    measured, cut = _mask_crown(alpha, rotation, centre, max(mesh.eye_distance, 4.0))
    low, high = (centre[1] - share * span for share in reversed(CROWN_SHARE_RANGE))
    crown = centre[1] - CROWN_SHARE_DEFAULT * span if measured is None else measured
    sides = sorted(float(levelled(mesh.xy(index))[0]) for index in (FACE_LEFT, FACE_RIGHT))
    return Head(
        eyes=centre,
        roll=roll,
        crown=float(np.clip(crown, low, high)),
        chin=chin,
        left=sides[0],
        right=sides[1],
        crown_cut=cut,
        crown_measured=measured is not None,
    )


def _mask_crown(
    alpha: np.ndarray, rotation: np.ndarray, eyes: tuple[float, float], eye_distance: float
) -> tuple[float | None, bool]:
    """Top of the mask's solid run above the eyes, in a band as wide as the eyes are apart.

    Returns (crown or None, cut): None when there is no mask above the eyes; ``cut`` when the
    run reaches the top of the photo (the crown is outside it).
    """
    levelled = cv2.warpAffine(alpha, rotation, alpha.shape[::-1], flags=cv2.INTER_LINEAR)
    eye_x, eye_y = round(eyes[0]), min(max(round(eyes[1]), 0), alpha.shape[0] - 1)
    half = max(2, round(eye_distance / 2))
    band = levelled[: eye_y + 1, max(0, eye_x - half) : eye_x + half + 1]
    if band.size == 0:
        return None, False
    solid = np.any(band >= 128, axis=1).astype(bool)
    if not solid[-1]:
        return None, False
    gaps = np.flatnonzero(~solid)
    if gaps.size == 0:
        return None, True
    return float(gaps[-1] + 1), False


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

    Shrinks first with an area filter when the photo is much smaller (no aliasing). Outside
    the source the mask is 0, so the new background fills whatever the source does not cover;
    the colours there are the nearest edge pixels only so that resampling at the edge does not
    pull in black (they are invisible under a zero mask).
    """
    scale = math.sqrt(abs(float(np.linalg.det(matrix[:, :2]))))
    if scale < 0.75:
        height, width = alpha.shape
        small = (max(1, round(width * scale)), max(1, round(height * scale)))
        foreground = cv2.resize(foreground, small, interpolation=cv2.INTER_AREA)
        alpha = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA)
        matrix = matrix @ np.diag([width / small[0], height / small[1], 1.0])
    flags = cv2.INTER_CUBIC if scale > 1.0 else cv2.INTER_LINEAR
    colours = cv2.warpAffine(foreground, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    mask = cv2.warpAffine(
        alpha, matrix, size, flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=0
    )
    return colours, mask
