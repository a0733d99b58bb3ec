"""Row strips and overlapping tiles: whole-image pixel work in bounded memory.

A 40 MP photo is 120 MB as uint8 RGB but 480 MB as float32, and a formula over it makes a few
such temporaries. Per-pixel work runs strip by strip into a preallocated output; neighbourhood
work (box filters) runs on tiles padded by the filter's reach, so every pixel of a tile's core
sees exactly the neighbours it would see in the whole image. (`row_strips` is the kernel's
imaging helper, shared with the decoder; it is re-exported here.)
"""

import math
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from center_api.kernel.imaging import STRIP_PIXELS, row_strips

__all__ = [
    "STRIP_PIXELS",
    "TILE_SIDE",
    "Tile",
    "Window",
    "area_weights",
    "erode",
    "grow_rows",
    "row_strips",
    "tiles",
]

# Tiles of 512 px plus their padding: about 1 MP at the reaches used here.
TILE_SIDE = 512

Window = tuple[slice, slice]


@dataclass(frozen=True)
class Tile:
    """One tile of an image.

    Attributes:
        core: the pixels this tile is responsible for (image coordinates).
        padded: the core plus up to ``margin`` pixels around it, clipped to the image.
        inner: the core within ``padded`` (index a tile-sized result with it).
    """

    core: Window
    padded: Window
    inner: Window


def tiles(shape: tuple[int, ...], margin: int, side: int = TILE_SIDE) -> Iterator[Tile]:
    """Tiles of ``side`` x ``side`` covering an image of ``shape`` (H, W, ...), padded by margin.

    A filter that reads at most ``margin`` pixels away gives the same values on a tile's core as
    on the whole image: where the padding is clipped, the tile's edge is the image's edge, so
    the filter's border rule applies there exactly as before.
    """
    height, width = shape[0], shape[1]
    for top in range(0, height, side):
        bottom = min(height, top + side)
        pad_top, pad_bottom = max(0, top - margin), min(height, bottom + margin)
        for left in range(0, width, side):
            right = min(width, left + side)
            pad_left, pad_right = max(0, left - margin), min(width, right + margin)
            yield Tile(
                core=(slice(top, bottom), slice(left, right)),
                padded=(slice(pad_top, pad_bottom), slice(pad_left, pad_right)),
                inner=(
                    slice(top - pad_top, bottom - pad_top),
                    slice(left - pad_left, right - pad_left),
                ),
            )


def area_weights(size: int, new_size: int) -> list[list[tuple[int, float]]]:
    """For each of ``size`` source rows, the (target row, weight) pairs of an area shrink.

    The table ``cv2.resize(..., interpolation=cv2.INTER_AREA)`` builds for one axis, so rows
    shrunk one strip at a time (horizontally by OpenCV, then accumulated here) give what one
    whole-image call gives, up to float rounding.
    """
    scale = 1.0 / (new_size / size)
    weights: list[list[tuple[int, float]]] = [[] for _ in range(size)]
    for target in range(new_size):
        start = target * scale
        end = start + scale
        cell = min(scale, size - start)
        first, last = math.ceil(start), math.floor(end)
        last = min(last, size - 1)
        first = min(first, last)
        if first - start > 1e-3:
            weights[first - 1].append((target, (first - start) / cell))
        for source in range(first, last):
            weights[source].append((target, 1.0 / cell))
        if end - last > 1e-3:
            weights[last].append((target, min(end - last, 1.0, cell) / cell))
    return weights


def grow_rows(small: np.ndarray, size: tuple[int, int], rows: slice) -> np.ndarray:
    """Rows ``rows`` of ``cv2.resize(small, size, interpolation=cv2.INTER_LINEAR)`` (float32).

    Only the source rows these output rows read are resized (horizontally, by OpenCV); the
    vertical blend uses OpenCV's pixel-centre mapping. Equal to the whole-image call up to
    float rounding (about one unit in the last place).
    """
    width, height = size
    source_h = small.shape[0]
    position = (np.arange(rows.start, rows.stop) + 0.5) * (1.0 / (height / source_h)) - 0.5
    below = np.floor(position)
    share = (position - below).astype(np.float32)
    below_i = below.astype(np.int64)
    at_edge = (below_i < 0) | (below_i >= source_h - 1)  # clamped: the edge row itself
    share[at_edge] = 0.0
    below_i = np.clip(below_i, 0, source_h - 1)
    above_i = np.minimum(below_i + 1, source_h - 1)
    first, last = int(below_i.min()), int(above_i.max()) + 1
    wide = cv2.resize(small[first:last], (width, last - first), interpolation=cv2.INTER_LINEAR)
    per_row = (-1,) + (1,) * (small.ndim - 1)
    keep = (np.float32(1.0) - share).reshape(per_row)
    return wide[below_i - first] * keep + wide[above_i - first] * share.reshape(per_row)


def erode(mask: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``cv2.erode(mask, kernel)``, computed only where the mask changes near a pixel.

    A large kernel (a 121 px ellipse on a 40 MP mask) makes erosion cost seconds; but where a
    tile and its padding hold one value, erosion gives that value back, so only tiles along
    the mask's edges are computed.
    """
    reach = max(kernel.shape) // 2
    out = mask.copy()
    for tile in tiles(mask.shape, reach):
        patch = mask[tile.padded]
        if patch.min() == patch.max():
            continue
        out[tile.core] = cv2.erode(patch, kernel)[tile.inner]
    return out
