"""Compositing: combine colour and alpha into cut-outs and flattened images."""

import numpy as np


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
