"""Alpha matting in the uncertain band: hair and fur take the new background, not a grey haze.

A salient-object network answers "subject" for the whole head of hair, strands and the gaps
between them alike, so over a contrasting background hair comes out as a grey haze (the old
background's colour, nearly opaque) with a hard outline. Here the model only draws the trimap:
its confident inside and outside are kept (and its firm interior, which `solid_interior`
makes opaque), and in its uncertain band alpha is solved from the photo's colours with the
closed-form matting model (Levin et al. 2008: in every small window
alpha is a linear function of colour), with the Laplacian applied matrix-free through box
filters (He et al. 2010) and a few conjugate-gradient steps.

Bounded in time and memory: the solve runs on a copy of at most `WORK_SIDE` pixels a side,
cropped to the band; its local linear fit (a guided filter of the solution) is grown to full
size and applied to the full-size colours, strip by strip, only in the band, so strands
thinner than the working pixels still get their own alpha. Where the model said "subject"
alpha may thin but stays at least a half, so the masks (IoU, boundary F) lose nothing.
Measured in ``bench/hair_quality.py``.
"""

import cv2
import numpy as np

from center_api.sdk.vision import (
    FIRM_ALPHA,
    apply_in_band,
    box_mean,
    colour_covariance,
    interior,
    row_strips,
    uncertain_band,
)

# Long side of the working copy, in pixels; the solve's cost is about this squared.
WORK_SIDE = 480
# The matting model: window radius, regularisation (colours in 0..1), weight of the trimap's
# known pixels, conjugate-gradient steps.
_RADIUS = 1
_EPS = 1e-5
_KNOWN_WEIGHT = 100.0
_STEPS = 30
_HALF = 128


def matte_band(rgb: np.ndarray, alpha: np.ndarray, scale: float) -> np.ndarray:
    """``alpha`` with its uncertain band solved from the photo's colours.

    Args:
        rgb: (H, W, 3) uint8 photo.
        alpha: (H, W) uint8 mask from a segmentation network (its trimap).
        scale: photo pixels per network pixel (how wide the network's doubt is).

    Returns:
        A new (H, W) uint8 alpha, equal to ``alpha`` outside the band
        (`center_api.sdk.vision.refinement.uncertain_band`).
    """
    height, width = alpha.shape
    factor = min(1.0, WORK_SIDE / max(height, width))
    small_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    guide = cv2.resize(rgb, small_size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    target = cv2.resize(alpha, small_size, interpolation=cv2.INTER_AREA)
    # The whole band is solved (a firm interior held at 1 would tell the solve that the old
    # background's colour between strands is subject); only its result skips the interior.
    unknown = uncertain_band(target, scale * factor)
    rows, cols = np.flatnonzero(unknown.any(axis=1)), np.flatnonzero(unknown.any(axis=0))
    if rows.size == 0:
        return alpha
    margin = 3 * _RADIUS + 1
    crop = (
        slice(max(0, rows[0] - margin), rows[-1] + 1 + margin),
        slice(max(0, cols[0] - margin), cols[-1] + 1 + margin),
    )
    laplacian = _MattingLaplacian(guide[crop])
    start = target[crop].astype(np.float32) / 255.0
    solved = _solve(laplacian, start, ~unknown[crop])
    # The solution's own local colour model, grown to full size: strands thinner than a
    # working pixel get their alpha from their full-size colour.
    gains, offset = laplacian.fit(solved)
    gain = np.zeros((*target.shape, 3), np.float32)
    bias = target.astype(np.float32) / 255.0  # outside the crop: the mask as it is
    bias[crop] = box_mean(offset, _RADIUS)
    for k, plane in enumerate(gains):
        gain[(*crop, k)] = box_mean(plane, _RADIUS)
    out = apply_in_band(rgb, alpha, _band(alpha, scale), (gain, bias))
    # What the model called subject thins (strands) but stays at least half: the matte never
    # moves the mask's 50 % contour inwards, where on low-contrast edges it cost IoU.
    for strip_rows in row_strips(height, width):
        strip = out[strip_rows]
        floor = np.where(alpha[strip_rows] >= _HALF, _HALF, 0).astype(np.uint8)
        np.maximum(strip, floor, out=strip)
    return out


def _band(alpha: np.ndarray, scale: float) -> np.ndarray:
    """Bool: the uncertain band, less the subject's firm interior (which is made solid)."""
    band = uncertain_band(alpha, scale)
    band[(interior(alpha, scale) > 0) & (alpha >= FIRM_ALPHA)] = False
    return band


def _solve(laplacian: "_MattingLaplacian", start: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Alpha minimising the matting energy, with the ``known`` pixels held near 0 or 1."""
    weight = known.astype(np.float32) * _KNOWN_WEIGHT
    goal = weight * (start >= 0.5)
    x = start.copy()
    residual = goal - (laplacian.apply(x) + weight * x)
    direction = residual.copy()
    norm = float((residual * residual).sum())
    for _ in range(_STEPS):
        product = laplacian.apply(direction) + weight * direction
        step = norm / max(float((direction * product).sum()), 1e-12)
        x += step * direction
        residual -= step * product
        new_norm = float((residual * residual).sum())
        if not np.isfinite(new_norm):  # never seen; the model's answer is the safe one
            return start
        if new_norm < 1e-8:
            break
        direction = residual + (new_norm / norm) * direction
        norm = new_norm
    return np.clip(x, 0.0, 1.0)


class _MattingLaplacian:
    """``p -> p - q``, q the guided filter of p: the matting Laplacian over the window size.

    The windows' inverse colour covariances are kept as the six planes of a symmetric 3x3
    matrix (closed-form inverse): batched LAPACK calls cost more than the whole solve.
    """

    def __init__(self, guide: np.ndarray) -> None:
        mean, covariance = colour_covariance(guide, _RADIUS, _EPS)
        # Colour planes kept apart: per-plane arithmetic is several times faster than on
        # interleaved (h, w, 3) arrays.
        self._guide = [np.ascontiguousarray(guide[..., k]) for k in range(3)]
        self._mean = [np.ascontiguousarray(mean[..., k]) for k in range(3)]
        self._inverse = _symmetric_inverse(covariance)

    def apply(self, p: np.ndarray) -> np.ndarray:
        """The Laplacian times ``p`` (h, w), without building the matrix."""
        gains, offset = self.fit(p)
        fitted = box_mean(offset, _RADIUS)
        for gain, plane in zip(gains, self._guide, strict=True):
            fitted += box_mean(gain, _RADIUS) * plane
        result: np.ndarray = p - fitted
        return result

    def fit(self, p: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        """Per window, the linear colour model of ``p``: three gain planes and an offset."""
        mean_p = box_mean(p, _RADIUS)
        c0, c1, c2 = (
            box_mean(plane * p, _RADIUS) - mean * mean_p
            for plane, mean in zip(self._guide, self._mean, strict=True)
        )
        i00, i01, i02, i11, i12, i22 = self._inverse
        gains = [
            i00 * c0 + i01 * c1 + i02 * c2,
            i01 * c0 + i11 * c1 + i12 * c2,
            i02 * c0 + i12 * c1 + i22 * c2,
        ]
        offset = mean_p
        for gain, mean in zip(gains, self._mean, strict=True):
            offset = offset - gain * mean
        return gains, offset


def _symmetric_inverse(matrix: np.ndarray) -> tuple[np.ndarray, ...]:
    """The six distinct entries (00, 01, 02, 11, 12, 22) of each symmetric 3x3's inverse."""
    matrix = matrix.astype(np.float64)  # the cofactors of near-flat windows cancel in float32
    a, b, c = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    d, e, f = matrix[..., 1, 1], matrix[..., 1, 2], matrix[..., 2, 2]
    co00, co01, co02 = d * f - e * e, c * e - b * f, b * e - c * d
    determinant = a * co00 + b * co01 + c * co02
    scale = 1.0 / determinant  # eps on the diagonal keeps it positive definite
    entries = (co00, co01, co02, a * f - c * c, b * c - a * e, a * d - b * b)
    return tuple((entry * scale).astype(np.float32) for entry in entries)
