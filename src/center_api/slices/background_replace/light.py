"""Linear-light compositing: blend light, not gamma-encoded sRGB numbers.

A soft edge pixel covers part subject, part background; the light it shows is the
coverage-weighted sum of the two *lights*. Mixing sRGB values instead darkens every edge between
contrasting colours (a dark fringe). Conversions go through lookup tables, so they cost one
indexing pass per image.
"""

import numpy as np

from center_api.sdk.vision import row_strips


def _srgb_to_linear(values: np.ndarray) -> np.ndarray:
    low = values / 12.92
    high = ((values + 0.055) / 1.055) ** 2.4
    return np.where(values <= 0.04045, low, high)


def _linear_to_srgb(values: np.ndarray) -> np.ndarray:
    low = values * 12.92
    high = 1.055 * np.power(values, 1.0 / 2.4) - 0.055
    return np.where(values <= 0.0031308, low, high)


_DECODE = _srgb_to_linear(np.arange(256, dtype=np.float64) / 255.0).astype(np.float32)
# 65536 linear steps: fine enough that dark tones (where sRGB steps are smallest) round exactly.
_ENCODE_STEPS = 65535
_ENCODE = np.clip(
    _linear_to_srgb(np.arange(_ENCODE_STEPS + 1, dtype=np.float64) / _ENCODE_STEPS) * 255.0 + 0.5,
    0,
    255,
).astype(np.uint8)


def to_linear(srgb: np.ndarray) -> np.ndarray:
    """uint8 sRGB values → float32 linear light in [0, 1] (same shape)."""
    return _DECODE[srgb]


def to_srgb(linear: np.ndarray) -> np.ndarray:
    """Float linear light (clipped to [0, 1]) → uint8 sRGB values (same shape)."""
    index = np.clip(linear, 0.0, 1.0) * _ENCODE_STEPS + 0.5
    return _ENCODE[index.astype(np.uint16)]


def composite(
    foreground: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray, *, in_place: bool = False
) -> np.ndarray:
    """Put ``foreground`` over ``backdrop`` with coverage ``alpha``, blending in linear light.

    Args:
        foreground: (H, W, 3) uint8 RGB subject colours (ideally decontaminated, see
            `center_api.sdk.vision.estimate_foreground`).
        alpha: (H, W) uint8 coverage of the subject.
        backdrop: (H, W, 3) RGB or (H, W, 4) RGBA uint8; a broadcast view is fine.
        in_place: write the result into ``backdrop`` (a writable array nobody else needs)
            instead of a new array: one image less in memory.

    Returns:
        (H, W, 3) uint8 RGB when the backdrop is opaque RGB, else (H, W, 4) RGBA.
    """
    height, width = alpha.shape
    if in_place and backdrop.flags.writeable:
        out = backdrop
    else:
        out = np.empty((height, width, backdrop.shape[2]), np.uint8)
    # Strip by strip: the float32 light of a whole photo is 12 bytes a pixel, per temporary.
    for rows in row_strips(height, width):
        out[rows] = _composite_rows(foreground[rows], alpha[rows], backdrop[rows])
    return out


def _composite_rows(foreground: np.ndarray, alpha: np.ndarray, backdrop: np.ndarray) -> np.ndarray:
    a = (alpha.astype(np.float32) / 255.0)[..., None]
    light = to_linear(foreground) * a
    if backdrop.shape[2] == 3:
        light += to_linear(backdrop) * (1.0 - a)
        return to_srgb(light)
    backdrop_a = backdrop[..., 3:4].astype(np.float32) / 255.0
    behind = backdrop_a * (1.0 - a)
    light += to_linear(backdrop[..., :3]) * behind
    out_a = a + behind
    rgb = to_srgb(light / np.maximum(out_a, 1e-6))
    return np.dstack([rgb, np.clip(out_a[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)])
