"""Compositing: combine colour and alpha into cut-outs and flattened images."""

import numpy as np

from center_api.vision.colors import RGBA


def cutout_rgba(pixels: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Return (H, W, 4) RGBA from RGB/RGBA ``pixels`` and an (H, W) uint8 ``alpha``.

    An input that already had transparency keeps it: the alphas multiply.
    """
    if pixels.shape[2] == 4:
        combined = (alpha.astype(np.uint16) * pixels[..., 3] + 127) // 255
        alpha = combined.astype(np.uint8)
    out = np.empty((*alpha.shape, 4), dtype=np.uint8)
    out[..., :3] = pixels[..., :3]
    out[..., 3] = alpha
    return out


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
