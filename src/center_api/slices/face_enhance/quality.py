"""How degraded a face is, how strongly to restore it, and whether a restoration may be kept.

Measured on the face's aligned crop at its own resolution (inside the face mask):

- detail: fine over coarse detail (mean |I - blur(I, 1)| over mean |I - blur(I, 4)|). Sharp
  faces measure >= 0.31 on the test portraits; blurred, noisy, JPEG-compressed ones 0.18-0.25;
  faces whose detail was thrown away (x4 down, JPEG, x4 up) 0.13-0.15, where every engine here
  invents more than it recovers (their SSIM against the original drops), so they are left alone;
- noise: the robust noise estimate of the classic engine (grey levels);

The score is 0 for a clean face, 1 for a clearly degraded one; ``auto`` restores only faces
scoring at least `MIN_SCORE`, with the engine's change scaled by the score (at least
`MIN_STRENGTH`). A restoration is kept only if it passes `consistent`: seen at the input's own
coarse scale it must still be the input (no new shapes, rings or colour), else it is retried at
half strength, else the face is left as it was. Thresholds come from ``bench/face_quality.py``.
"""

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from center_api.slices.face_enhance.classic import estimate_noise
from center_api.slices.face_enhance.restore import face_mask

# Detail ratio: at or above SHARP a face needs nothing; below LOST its detail is gone.
DETAIL_SHARP, DETAIL_BLURRED, DETAIL_LOST = 0.31, 0.20, 0.16
NOISE_CLEAN, NOISE_HEAVY = 4.0, 12.0
MIN_SCORE = 0.25
MIN_STRENGTH = 0.5
# A kept restoration, blurred to the input's coarse scale, is this close to the input (dB).
CONSISTENCY_DB = 32.0

Verdict = Literal["restore", "clean", "unrecoverable"]


@dataclass(frozen=True)
class Assessment:
    """One face's degradation.

    Attributes:
        detail: fine-over-coarse detail ratio of the crop.
        noise: noise sigma in grey levels.
        score: 0 (clean) .. 1 (clearly degraded).
        verdict: restore it, leave it (clean), or leave it (its detail is gone).
    """

    detail: float
    noise: float
    score: float
    verdict: Verdict

    @property
    def strength(self) -> float:
        """How much of a restoration to paste: grows with the score."""
        return float(np.clip(self.score, MIN_STRENGTH, 1.0))


def detail_ratio(rgb: np.ndarray) -> float:
    """Fine over coarse detail inside the face mask of an aligned crop."""
    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY).astype(np.float32)
    core = face_mask(grey.shape[0]) > 0.5
    fine = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))[core].mean()
    coarse = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 4.0))[core].mean()
    return float(fine / max(float(coarse), 1e-6))


def assess(crop: np.ndarray) -> Assessment:
    """Score the degradation of an aligned face crop at about the face's own resolution."""
    detail, noise = detail_ratio(crop), estimate_noise(crop)
    blur = float(np.clip((DETAIL_SHARP - detail) / (DETAIL_SHARP - DETAIL_BLURRED), 0.0, 1.0))
    grain = float(np.clip((noise - NOISE_CLEAN) / (NOISE_HEAVY - NOISE_CLEAN), 0.0, 1.0))
    score = max(blur, grain)
    verdict: Verdict = "restore"
    if detail < DETAIL_LOST and grain == 0.0:
        verdict = "unrecoverable"
    elif score < MIN_SCORE:
        verdict = "clean"
    return Assessment(detail=detail, noise=noise, score=score, verdict=verdict)


def consistent(restored: np.ndarray, original: np.ndarray, strength: float) -> bool:
    """True when the restoration at ``strength`` is still the input at a coarse scale.

    Both are aligned crops of the same size (float or uint8 RGB); compared inside the face
    mask after a blur of 1/64 of the crop (features survive it, invented texture does not).
    """
    size = original.shape[0]
    sigma = max(1.0, size / 64.0)
    base = original.astype(np.float32)
    mixed = base + np.float32(strength) * (restored.astype(np.float32) - base)
    a = cv2.GaussianBlur(mixed, (0, 0), sigma)
    b = cv2.GaussianBlur(base, (0, 0), sigma)
    core = face_mask(size) > 0.5
    mse = float(np.mean((a[core] - b[core]) ** 2))
    return mse == 0.0 or 10.0 * np.log10(255.0**2 / mse) >= CONSISTENCY_DB
