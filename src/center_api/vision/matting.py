"""Edge quality for alpha mattes: speck clean-up and foreground colour estimation.

All functions take and return uint8 arrays and run in a kernel slot (pure NumPy/OpenCV).
"""

import cv2
import numpy as np

# Components smaller than this share of the largest one are specks, not subject.
SPECK_SHARE = 0.02


def clean_mask(alpha: np.ndarray) -> np.ndarray:
    """Remove specks and fill pinholes, keeping the soft edge of what remains."""
    solid = (alpha >= 128).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    if count <= 1:
        return alpha
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.zeros(count, dtype=np.uint8)
    keep[1:] = areas >= SPECK_SHARE * areas.max()
    kept = keep[labels]
    # Soft edges live just outside the solid core: keep alpha within a few pixels of it.
    near = cv2.dilate(kept, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7)))
    cleaned = np.where(near > 0, alpha, 0).astype(np.uint8)
    holes = _small_holes(kept, max_area=int(0.001 * alpha.size) + 1)
    cleaned[holes] = 255
    return cleaned


def _small_holes(solid: np.ndarray, max_area: int) -> np.ndarray:
    background = (solid == 0).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(background, connectivity=4)
    touches = np.zeros(count, dtype=bool)
    for edge in (labels[0], labels[-1], labels[:, 0], labels[:, -1]):
        touches[np.unique(edge)] = True
    small = (stats[:, cv2.CC_STAT_AREA] <= max_area) & ~touches
    small[0] = False
    return small[labels] & (background > 0)


def estimate_foreground(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Foreground colours with the background's colour removed from soft edges.

    Blur-fusion estimation (Forte & Pitié, 2021): two passes of box filters, so it stays
    linear in the pixel count. Returns uint8 RGB; fully opaque pixels are unchanged.
    """
    image = rgb.astype(np.float32) / 255.0
    a = (alpha.astype(np.float32) / 255.0)[..., None]
    foreground, background = image, image
    for radius in (90, 6):
        foreground, background = _blur_fusion_step(image, foreground, background, a, radius)
    out = np.clip(foreground * 255.0 + 0.5, 0, 255).astype(np.uint8)
    opaque = alpha == 255
    out[opaque] = rgb[opaque]
    return out


def _blur_fusion_step(
    image: np.ndarray, fg: np.ndarray, bg: np.ndarray, a: np.ndarray, radius: int
) -> tuple[np.ndarray, np.ndarray]:
    size = (radius, radius)
    blurred_a = cv2.blur(a[..., 0], size)[..., None]
    blurred_fg = cv2.blur(fg * a, size) / (blurred_a + 1e-5)
    blurred_bg = cv2.blur(bg * (1.0 - a), size) / ((1.0 - blurred_a) + 1e-5)
    fg = blurred_fg + a * (image - a * blurred_fg - (1.0 - a) * blurred_bg)
    return np.clip(fg, 0.0, 1.0), blurred_bg
