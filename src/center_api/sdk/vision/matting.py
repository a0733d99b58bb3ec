"""Edge quality for alpha mattes: speck clean-up, pinhole filling, foreground colours.

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
# A hole is filled only when it is at most this share of the subject, ...
HOLE_SHARE = 0.01
# ... when nearly all (this share of) the solid pixels around it are confident (alpha >= 230),
_CONFIDENT = 230
_ENCLOSED = 0.98
# ... and when most of it is not translucent: alpha well between 0 and 1 (glass, a veil,
# fabric) is what the photo shows, not a mistake of the network.
_TRANSLUCENT = (38, 217)


def clean_mask(alpha: np.ndarray, reach: int | None = None) -> np.ndarray:
    """Remove specks and fill pinholes, keeping the soft edge and translucency of the rest.

    Args:
        alpha: (H, W) uint8 mask.
        reach: soft pixels farther than this from every kept solid part go with the specks;
            default: two of the network's input pixels (320 across) mapped back.

    Returns:
        A new (H, W) uint8 mask: solid components smaller than `SPECK_SHARE` of the largest
        removed; holes filled when small (`HOLE_SHARE` of the subject), enclosed by confident
        foreground and not translucent. Everything else as it was.
    """
    box = foreground_box(alpha, threshold=128)
    if box is None:
        return alpha
    height, width = alpha.shape
    if reach is None:
        reach = max(3, round(2 * max(height, width) / 320))
    # Nothing outside the solid pixels' box (plus the reach) can be kept, and every hole lies
    # inside it: the int32 labels are made for that box only.
    left, top = max(0, box[0] - reach), max(0, box[1] - reach)
    right = min(width, box[0] + box[2] + reach)
    bottom = min(height, box[1] + box[3] + reach)
    window = (slice(top, bottom), slice(left, right))
    kept = _kept_components(alpha[window])
    if kept is None:
        return alpha
    holes = _Holes(kept)
    # Soft edges live just outside the solid core: keep alpha within reach of it, and inside
    # the subject's holes (translucent parts of it); soft haze farther out goes.
    size = 2 * reach + 1
    keep = cv2.dilate(kept, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    keep[holes.enclosed()] = 1
    keep[(alpha[window] >= 128) & (kept == 0)] = 0  # the specks themselves
    cleaned = np.zeros_like(alpha)
    cleaned[window] = alpha[window] * keep  # keep is 0 or 1
    del keep
    holes.fill(cleaned[window])
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


class _Holes:
    """The holes of a solid (0/1) mask: background components that do not reach its edge.

    The mask may be a window of the whole one, as long as it holds every solid pixel with a
    margin: a component touching the window's edge then reaches the image's edge too.
    """

    def __init__(self, solid: np.ndarray) -> None:
        self._solid = solid
        background = (solid == 0).astype(np.uint8)
        count, self._labels, self._stats, _ = cv2.connectedComponentsWithStats(
            background, connectivity=4
        )
        touches = np.zeros(count, dtype=bool)
        for edge in (self._labels[0], self._labels[-1], self._labels[:, 0], self._labels[:, -1]):
            touches[np.unique(edge)] = True
        touches[0] = True  # label 0: the solid pixels themselves
        self._is_hole = ~touches

    def enclosed(self) -> np.ndarray:
        """Bool mask of every hole pixel."""
        holes: np.ndarray = self._is_hole[self._labels]
        return holes

    def fill(self, alpha: np.ndarray) -> None:
        """Set to 255, in place, the holes that are the network's mistakes, not translucency.

        Those are small (`HOLE_SHARE` of the subject), enclosed by confident foreground, and
        not mostly translucent.
        """
        limit = HOLE_SHARE * max(int(self._solid.sum()), 1)
        small = self._is_hole & (self._stats[:, cv2.CC_STAT_AREA] <= limit)
        ring_kernel = np.ones((3, 3), np.uint8)
        for label in np.flatnonzero(small):
            x, y, w, h = (int(v) for v in self._stats[label, :4])
            rows, cols = slice(max(0, y - 2), y + h + 2), slice(max(0, x - 2), x + w + 2)
            hole = self._labels[rows, cols] == label
            around = cv2.dilate(hole.astype(np.uint8), ring_kernel, iterations=2).astype(bool)
            ring = around & ~hole & (self._solid[rows, cols] > 0)
            values = alpha[rows, cols]
            if not ring.any() or (values[ring] >= _CONFIDENT).mean() < _ENCLOSED:
                continue  # not enclosed by confident foreground
            inside = values[hole]
            if ((inside > _TRANSLUCENT[0]) & (inside < _TRANSLUCENT[1])).mean() > 0.5:
                continue  # translucent: the photo shows through here
            values[hole] = 255


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
