"""Scene effects sized by the image: a softened (feathered) edge and a shadow under the subject.

Both are Gaussian blurs of the subject's mask. Their sizes are given in pixels by the caller
(from a share of the image diagonal, see `schemas.size_in_pixels`), so a photo looks the same
at any resolution. A wide blur is computed on a shrunk copy of the mask (a blurred mask has no
detail to lose) and grown back: the cost stays that of a few passes over the image, whatever
the size.
"""

from typing import Literal

import cv2
import numpy as np

from center_api.sdk.vision import foreground_box, row_strips
from center_api.slices.background_replace.light import to_linear, to_srgb

ShadowKind = Literal["none", "drop", "contact"]

# The mask is shrunk until the blur's sigma is about this many of its pixels.
_SMALL_SIGMA = 4.0
# Drop shadow: offset right and down, in sigmas. Contact shadow: the silhouette squashed to
# this share of its height, centred on the subject's lowest row.
_DROP_OFFSET = (1.0, 1.5)
_CONTACT_SQUASH = 0.06


def feathered(alpha: np.ndarray, sigma: float) -> np.ndarray:
    """``alpha`` with its edge faded inwards over about 2 ``sigma`` pixels.

    The fade stays inside the subject (``2 * blur - 1``, never above the mask itself): the
    pixels outside carry no subject colour to show. The deep interior stays opaque.
    """
    blurred = _blurred(alpha, sigma)
    out = np.empty_like(alpha)
    for rows in row_strips(*alpha.shape):
        faded = np.clip(2 * blurred[rows].astype(np.int16) - 255, 0, 255).astype(np.uint8)
        out[rows] = np.minimum(alpha[rows], faded)
    return out


def cast_shadow(
    backdrop: np.ndarray, alpha: np.ndarray, kind: ShadowKind, sigma: float, opacity: float
) -> np.ndarray:
    """The backdrop darkened where the subject's shadow falls (a new array, or the same one).

    Args:
        backdrop: (H, W, 3|4) uint8; a read-only view is copied.
        alpha: (H, W) uint8 subject mask.
        kind: ``drop`` (the silhouette, offset right and down) or ``contact`` (a flat
            shadow where the subject stands); ``none`` returns ``backdrop`` as it is.
        sigma: softness in pixels.
        opacity: darkness where the shadow is full, 0..1.

    Returns:
        The backdrop with the shadow: light multiplied by ``1 - opacity * shadow``; on a
        transparent backdrop the shadow is black with that alpha ("over").
    """
    shadow = _shadow_mask(alpha, kind, sigma)
    if shadow is None or opacity <= 0:
        return backdrop
    out = backdrop if backdrop.flags.writeable else np.array(backdrop)
    for rows in row_strips(*alpha.shape):
        strength = (shadow[rows].astype(np.float32) * (opacity / 255.0))[..., None]
        strip = out[rows]
        light = to_linear(strip[..., :3])
        if strip.shape[2] == 3:
            strip[:] = to_srgb(light * (1.0 - strength))
            continue
        # Black with coverage `strength` over the backdrop: its light is dimmed, and where
        # the backdrop was transparent the shadow itself is what covers the pixel.
        below = strip[..., 3:].astype(np.float32) / 255.0
        coverage = strength + below * (1.0 - strength)
        strip[..., :3] = to_srgb(light * below * (1.0 - strength) / np.maximum(coverage, 1e-6))
        strip[..., 3] = np.clip(coverage[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def _shadow_mask(alpha: np.ndarray, kind: ShadowKind, sigma: float) -> np.ndarray | None:
    """(H, W) uint8 shadow coverage, or None when there is no shadow to cast."""
    if kind == "none" or foreground_box(alpha, threshold=128) is None:
        return None
    if kind == "drop":
        height, width = alpha.shape
        dx, dy = (offset * sigma for offset in _DROP_OFFSET)
        matrix = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        shape = cv2.warpAffine(alpha, matrix, (width, height), flags=cv2.INTER_LINEAR)
        return _blurred(shape, sigma)
    # A flat shape loses its peak to the blur: scaled back so the core is as dark as asked.
    blurred = _blurred(_contact_shape(alpha), sigma)
    peak = int(blurred.max())
    if peak == 0:
        return None
    return cv2.convertScaleAbs(blurred, alpha=255.0 / peak)


def _contact_shape(alpha: np.ndarray) -> np.ndarray:
    """The silhouette squashed flat and centred on its lowest row (where it stands)."""
    rows = np.flatnonzero((alpha >= 128).any(axis=1))
    top, bottom = int(rows[0]), int(rows[-1]) + 1
    flat_height = max(1, round(_CONTACT_SQUASH * (bottom - top)))
    flat = cv2.resize(
        alpha[top:bottom], (alpha.shape[1], flat_height), interpolation=cv2.INTER_AREA
    )
    shape = np.zeros_like(alpha)
    start = max(0, bottom - (flat_height + 1) // 2)
    stop = min(alpha.shape[0], start + flat_height)
    shape[start:stop] = flat[: stop - start]
    return shape


def _blurred(alpha: np.ndarray, sigma: float) -> np.ndarray:
    """``alpha`` blurred with a Gaussian of ``sigma`` pixels (uint8, same size)."""
    height, width = alpha.shape
    step = max(1.0, sigma / _SMALL_SIGMA)
    if step == 1.0:
        return cv2.GaussianBlur(alpha, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
    small_size = (max(1, round(width / step)), max(1, round(height / step)))
    small = cv2.resize(alpha, small_size, interpolation=cv2.INTER_AREA)
    small = cv2.GaussianBlur(small, (0, 0), sigma / step, borderType=cv2.BORDER_REPLICATE)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
