"""Edge quality for alpha mattes: speck clean-up and foreground colour estimation.

All functions take and return uint8 arrays and run in a kernel slot (pure NumPy/OpenCV).
"""

import cv2
import numpy as np

from center_api.sdk.vision.segmentation import foreground_box
from center_api.sdk.vision.tiles import tiles

# Components smaller than this share of the largest one are specks, not subject.
SPECK_SHARE = 0.02
# Box sizes of the two blur-fusion passes, and how far from a pixel both together read: a box
# of size r reaches r // 2 pixels, and the second pass reads the first one's results.
_FUSION_RADII = (90, 6)
_FUSION_REACH = sum(radius // 2 + 1 for radius in _FUSION_RADII)
# How far the clean-up's dilation (a 7x7 ellipse) reaches from the solid pixels.
_NEAR_REACH = 3


def clean_mask(alpha: np.ndarray) -> np.ndarray:
    """Remove specks and fill pinholes, keeping the soft edge of what remains."""
    box = foreground_box(alpha, threshold=128)
    if box is None:
        return alpha
    # Nothing outside the solid pixels' box (plus the dilation's reach) can be kept, and every
    # hole lies inside it: the int32 labels are made for that box only.
    height, width = alpha.shape
    left, top = max(0, box[0] - _NEAR_REACH), max(0, box[1] - _NEAR_REACH)
    right = min(width, box[0] + box[2] + _NEAR_REACH)
    bottom = min(height, box[1] + box[3] + _NEAR_REACH)
    window = (slice(top, bottom), slice(left, right))
    kept = _kept_components(alpha[window])
    if kept is None:
        return alpha
    # Soft edges live just outside the solid core: keep alpha within a few pixels of it.
    near = cv2.dilate(kept, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    cleaned = np.zeros_like(alpha)
    cleaned[window] = alpha[window] * near  # near is 0 or 1
    del near
    holes = _small_holes(kept, max_area=int(0.001 * alpha.size) + 1)
    cleaned[window][holes] = 255
    return cleaned


def _kept_components(alpha: np.ndarray) -> np.ndarray | None:
    """0/1 uint8: the solid components that are not specks (None when nothing is solid)."""
    solid = (alpha >= 128).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    if count <= 1:
        return None
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, dtype=np.uint8)
    keep[1:] = areas >= SPECK_SHARE * areas.max()
    kept: np.ndarray = keep[labels]
    return kept


def _small_holes(solid: np.ndarray, max_area: int) -> np.ndarray:
    """Background components of at most ``max_area`` pixels that do not touch the edge.

    ``solid`` may be a window of the mask, as long as it holds every solid pixel with a
    margin: a component touching the window's edge then reaches the image's edge too.
    """
    background = (solid == 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    touches = np.zeros(count, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touches[np.unique(edge)] = True
    small = (stats[:, cv2.CC_STAT_AREA] <= max_area) & ~touches
    small[0] = False
    holes = small[labels]
    del labels
    return np.logical_and(holes, background, out=holes)


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours with the background's colour removed from soft edges.

    Blur-fusion estimation (Forte & Pitié, 2021): two passes of box filters, so it stays
    linear in the pixel count. Returns uint8 RGB; fully opaque pixels are unchanged.

    Runs on padded tiles (float32 copies of the whole image would be 4x its size, several
    times over). Where a tile's neighbourhood is all transparent the estimate is black, as the
    whole-image computation gives there; where it is all opaque it is the photo itself.
    """
    out = np.zeros_like(rgb)
    for tile in tiles(alpha.shape, _FUSION_REACH):
        patch = alpha[tile.padded]
        if not patch.any():
            continue
        core = tile.core
        if patch.min() < 255:
            fused = _blur_fusion(rgb[tile.padded], patch)
            out[core] = fused[tile.inner]
        opaque = alpha[core] == 255
        out[core][opaque] = rgb[core][opaque]
    return out


def _blur_fusion(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    image = rgb.astype(np.float32) / 255.0
    a = (alpha.astype(np.float32) / 255.0)[..., None]
    foreground, background = image, image
    for radius in _FUSION_RADII:
        foreground, background = _blur_fusion_step(image, foreground, background, a, radius)
    return np.clip(foreground * 255.0 + 0.5, 0, 255).astype(np.uint8)


def _blur_fusion_step(
    image: np.ndarray, fg: np.ndarray, bg: np.ndarray, a: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    size = (radius, radius)
    blurred_a = cv2.blur(a[..., 0], size)[..., None]
    blurred_fg = cv2.blur(fg * a, size) / (blurred_a + 1e-5)
    blurred_bg = cv2.blur(bg * (1.0 - a), size) / ((1.0 - blurred_a) + 1e-5)
    fg = blurred_fg + a * (image - a * blurred_fg - (1.0 - a) * blurred_bg)
    return np.clip(fg, 0.0, 1.0), blurred_bg
