"""Edge refinement: a segmentation mask's soft edge, re-measured from the photo's colours.

Salient-object networks run at a few hundred pixels and are upsampled: their edge is a ramp a
few pixels wide wherever the real edge is, so a defocused or fuzzy edge comes out too hard.
Pixels just inside it get full opacity while still carrying the old background's colour (the
halo no colour decontamination can remove, since an opaque pixel is taken as pure subject).

Here each pixel of a band around the mask's edge is projected onto the line between the local
subject colour and the local background colour (means of the sure pixels nearby):
``a = (I - B)·(F - B) / |F - B|²``. The result is trusted in proportion to how well the two
colours are separated compared with their local spread, so low-contrast or busy edges keep the
network's answer.
"""

import cv2
import numpy as np

from center_api.sdk.vision import erode, tiles

# Weight of the local colour spread (variance) against the contrast: high, so busy edges keep
# the network's answer (tuned on the shared GrabCut/COCO/Adobe sets: no IoU loss > 0.01).
_SPREAD_WEIGHT = 16.0
# Contrast (squared RGB distance, colours in 0..1) below which projection is not trusted.
_CONTRAST_FLOOR = 0.01
# A side (subject or background) needs this share of sure pixels around a pixel to be used.
_MIN_SUPPORT = 0.05


def edge_band(shape: tuple[int, ...]) -> int:
    """Half-width in pixels of the band to refine for an image of ``shape`` (H, W, ...).

    About 2.5 of the network's input pixels (320 px across the longer side) mapped back.
    """
    return max(3, round(2.5 * max(shape[0], shape[1]) / 320))


def refine_edge_alpha(rgb: np.ndarray, alpha: np.ndarray, band: int) -> np.ndarray:
    """Re-estimate ``alpha`` within ``band`` pixels of its edge from the colours of ``rgb``.

    Args:
        rgb: (H, W, 3) uint8 photo.
        alpha: (H, W) uint8 mask (e.g. `center_api.sdk.vision.predict_alpha`).
        band: half-width of the band around the 50 % contour that is re-estimated.

    Returns:
        (H, W) uint8 alpha; unchanged outside the band and where the colours do not tell.
    """
    solid = (alpha >= 128).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * band + 1, 2 * band + 1))
    sure_fg = erode(solid, kernel)
    sure_bg = erode(1 - solid, kernel)
    del solid
    unknown = ~np.logical_or(sure_fg, sure_bg)
    if not unknown.any() or not sure_fg.any() or not sure_bg.any():
        return alpha
    refined = alpha.copy()
    # The local statistics read 3 * band pixels around each pixel: only tiles that hold part of
    # the band are computed, each padded by that reach (float32 stays tile-sized).
    for tile in tiles(alpha.shape, 3 * band):
        todo = unknown[tile.core]
        if not todo.any():
            continue
        pad = tile.padded
        values = _refined_tile(rgb[pad], alpha[pad], sure_fg[pad], sure_bg[pad], band)
        refined[tile.core][todo] = values[tile.inner][todo]
    return refined


def _refined_tile(
    rgb: np.ndarray, alpha: np.ndarray, sure_fg: np.ndarray, sure_bg: np.ndarray, band: int
) -> np.ndarray:
    """The colour-projected alpha (uint8) of every pixel of a tile."""
    image = rgb.astype(np.float32) / 255.0
    window = (6 * band + 1, 6 * band + 1)
    fg_mean, fg_spread = _local_stats(image, sure_fg, window)
    bg_mean, bg_spread = _local_stats(image, sure_bg, window)
    difference = fg_mean - bg_mean
    contrast = np.einsum("ijk,ijk->ij", difference, difference)
    projected = np.nan_to_num(
        np.einsum("ijk,ijk->ij", image - bg_mean, difference) / np.maximum(contrast, 1e-6)
    )
    spread = _SPREAD_WEIGHT * (fg_spread + bg_spread) + _CONTRAST_FLOOR
    trust = np.nan_to_num(contrast / (contrast + spread))
    model = alpha.astype(np.float32) / 255.0
    mixed = trust * np.clip(projected, 0.0, 1.0) + (1.0 - trust) * model
    return np.clip(mixed * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _local_stats(
    image: np.ndarray, mask: np.ndarray, window: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Mean colour and spread (summed channel variance) of ``mask``'s pixels in each window.

    Where fewer than ``_MIN_SUPPORT`` of a window's pixels are in ``mask`` the mean is NaN,
    so nothing is trusted there.
    """
    weight = cv2.blur(mask.astype(np.float32), window)
    safe = np.maximum(weight, 1e-6)[..., None]
    selected = image * mask[..., None]
    mean = cv2.blur(selected, window) / safe
    power = cv2.blur(np.einsum("ijk,ijk->ij", selected, image), window) / safe[..., 0]
    spread = np.maximum(power - np.einsum("ijk,ijk->ij", mean, mean), 0.0)
    mean[weight < _MIN_SUPPORT] = np.nan
    return mean, spread
