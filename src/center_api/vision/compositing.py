"""Compositing: combine colour and alpha into cut-outs and flattened images."""

import cv2
import numpy as np

from center_api.vision.colors import RGBA


def cutout_rgba(pixels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Return (H, W, 4) RGBA from RGB/RGBA ``pixels`` and an (H, W) uint8 ``alpha``.

    An input that already had transparency keeps it: the alphas multiply. Fully transparent
    pixels become transparent black (0, 0, 0, 0), as rembg does: their colour is invisible, and
    the PNG comes out about 3x smaller and twice as fast to encode.
    """
    if pixels.shape[2] == 4:
        combined = (alpha.astype(np.uint16) * pixels[..., 3] + 127) // 255
        alpha = combined.astype(np.uint8)
    _, visible = cv2.threshold(alpha, 0, 255, cv2.THRESH_BINARY)  # 255 where alpha > 0
    channels = [cv2.bitwise_and(c, visible) for c in cv2.split(np.ascontiguousarray(pixels))[:3]]
    return cv2.merge([*channels, np.ascontiguousarray(alpha)])


def flatten_on_color(rgba: np.ndarray, color: RGBA) -> np.ndarray:
    """Composite RGBA over a solid colour ("over" operator); an opaque colour gives RGB."""
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
