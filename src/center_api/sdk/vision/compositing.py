"""Compositing: combine colour and alpha into cut-outs and flattened images."""

import numpy as np

from center_api.sdk.vision.colors import RGBA
from center_api.sdk.vision.tiles import row_strips


def cutout_rgba(pixels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Return (H, W, 4) RGBA from RGB/RGBA ``pixels`` and an (H, W) uint8 ``alpha``.

    An input that already had transparency keeps it: the alphas multiply. Fully transparent
    pixels become transparent black (0, 0, 0, 0), as rembg does: their colour is invisible, and
    the PNG comes out about 3x smaller and twice as fast to encode.
    """
    height, width = alpha.shape
    out = np.empty((height, width, 4), np.uint8)
    # Written strip by strip into the result: no full-size planes or masks besides it.
    for rows in row_strips(height, width):
        strip = out[rows]
        strip[..., :3] = pixels[rows, :, :3]
        coverage = alpha[rows]
        if pixels.shape[2] == 4:
            coverage = ((coverage.astype(np.uint16) * pixels[rows, :, 3] + 127) // 255).astype(
                np.uint8
            )
        strip[..., 3] = coverage
        strip[coverage == 0] = 0
    return out


def flatten_on_color(rgba: np.ndarray, color: RGBA) -> np.ndarray:
    """Composite RGBA over a solid colour ("over" operator); an opaque colour gives RGB."""
    height, width = rgba.shape[:2]
    out = np.empty((height, width, 3 if color[3] == 255 else 4), np.uint8)
    for rows in row_strips(height, width):
        out[rows] = _flattened_rows(rgba[rows], color)
    return out


def _flattened_rows(rgba: np.ndarray, color: RGBA) -> np.ndarray:
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    backdrop = np.asarray(color[:3], dtype=np.float32)
    backdrop_alpha = color[3] / 255.0
    out_alpha = alpha + backdrop_alpha * (1.0 - alpha)
    premultiplied = rgba[..., :3].astype(np.float32) * alpha + backdrop * (
        backdrop_alpha * (1.0 - alpha)
    )
    rgb = premultiplied / np.maximum(out_alpha, 1e-6)
    out_rgb = np.clip(rgb + 0.5, 0, 255).astype(np.uint8)
    if color[3] == 255:
        return out_rgb
    return np.dstack([out_rgb, np.clip(out_alpha[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)])
