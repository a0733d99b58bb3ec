"""Compositing: combine colour and alpha into cut-outs and flattened images; a solid interior."""

import cv2
import numpy as np

from center_api.sdk.vision.colors import RGBA
from center_api.sdk.vision.tiles import erode, row_strips

# The subject's interior: farther than this many network pixels inside the 50 % contour ...
INTERIOR_DEPTH = 3.0
# ... with at least this alpha (0.6) is solid, whatever the network's doubt.
FIRM_ALPHA = 153


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


def solid_interior(alpha: np.ndarray, scale: float) -> np.ndarray:
    """``alpha`` with the subject's interior made fully opaque.

    A salient-object network's answer inside dark clothes or shadowed skin is often 0.8 or
    0.9, not 1: composited as it is, the new background shows through the subject. Pixels
    deeper than `INTERIOR_DEPTH` network pixels inside the 50 % contour (far from the
    uncertain band) with alpha of at least `FIRM_ALPHA` become 255. Lower alpha there is
    what the photo shows through (glass, a veil) and stays as it is; so does the edge band.

    Args:
        alpha: (H, W) uint8 mask.
        scale: photo pixels per network pixel (the photo's long side over the network's).

    Returns:
        A new (H, W) uint8 alpha.
    """
    deep = interior(alpha, scale)
    out = alpha.copy()
    for rows in row_strips(*alpha.shape):
        strip = out[rows]
        strip[(deep[rows] > 0) & (strip >= FIRM_ALPHA)] = 255
    return out


def interior(alpha: np.ndarray, scale: float) -> np.ndarray:
    """(H, W) uint8, 1 deeper than `INTERIOR_DEPTH` network pixels inside the 50 % contour.

    Args:
        alpha: (H, W) uint8 mask.
        scale: photo pixels per network pixel.
    """
    reach = max(2, round(INTERIOR_DEPTH * scale))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    return erode((alpha >= 128).astype(np.uint8), kernel)


def keep_opaque(foreground: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """Set, in place, ``foreground`` to the photo's own ``rgb`` wherever ``alpha`` is 255.

    An opaque pixel is all subject: its colour is the photo's, bit for bit, whatever a
    foreground estimate made of it while it was still partly transparent.
    """
    for rows in row_strips(*alpha.shape):
        opaque = alpha[rows] == 255
        foreground[rows][opaque] = rgb[rows][opaque]
