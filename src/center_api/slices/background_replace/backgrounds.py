"""New backgrounds to put a subject on: solid colours, gradients, images, the old one blurred.

Every function returns a backdrop the size of the subject's image, as (H, W, 3) RGB uint8, or
(H, W, 4) RGBA when a colour involved is not opaque; `light.composite` puts
the subject over it. All of it is CPU work for a kernel slot.
"""

from typing import Literal, NamedTuple

import cv2
import numpy as np

from center_api.sdk.vision import RGBA, Window, area_weights, grow_rows, row_strips, tiles
from center_api.slices.background_replace.light import composite, to_linear, to_srgb

GradientKind = Literal["vertical", "radial"]
Fit = Literal["fill", "fit", "stretch"]
Position = Literal[
    "center",
    "top",
    "bottom",
    "left",
    "right",
    "top_left",
    "top_right",
    "bottom_left",
    "bottom_right",
]

# Where the background image sits inside (fit) or is cut from (fill): x, y shares of the slack.
ANCHORS: dict[str, tuple[float, float]] = {
    "center": (0.5, 0.5),
    "top": (0.5, 0.0),
    "bottom": (0.5, 1.0),
    "left": (0.0, 0.5),
    "right": (1.0, 0.5),
    "top_left": (0.0, 0.0),
    "top_right": (1.0, 0.0),
    "bottom_left": (0.0, 1.0),
    "bottom_right": (1.0, 1.0),
}

# 4x4 ordered dither, centred on 0: smooth gradients without 8-bit banding, deterministically.
_BAYER = (
    np.array([[0, 8, 2, 10], [12, 4, 14, 6], [3, 11, 1, 9], [15, 7, 13, 5]], np.float32) + 0.5
) / 16.0 - 0.5
# Below this share of background weight a pixel has no background to show (deep in the subject).
_NO_BACKGROUND = 1e-6


def _channels(*colors: RGBA) -> int:
    return 3 if all(color[3] == 255 for color in colors) else 4


def solid(size: tuple[int, int], color: RGBA) -> np.ndarray:
    """A (height, width) backdrop of one colour (a read-only broadcast view, no copy)."""
    width, height = size
    channels = _channels(color)
    pixel = np.asarray(color[:channels], dtype=np.uint8)
    return np.broadcast_to(pixel, (height, width, channels))


def gradient(
    size: tuple[int, int], start: RGBA, end: RGBA, kind: GradientKind = "vertical"
) -> np.ndarray:
    """A two-colour gradient, interpolated like CSS gradients (in sRGB), dithered.

    Args:
        size: (width, height).
        start: colour at the top (vertical) or at the centre (radial).
        end: colour at the bottom (vertical) or at the corners (radial).
        kind: ``vertical`` (top to bottom) or ``radial`` (centre to corners).
    """
    width, height = size
    channels = _channels(start, end)
    first = np.asarray(start[:channels], np.float32)
    last = np.asarray(end[:channels], np.float32)
    out = np.empty((height, width, channels), np.uint8)
    columns = np.arange(width) % 4
    for rows in row_strips(height, width):
        share = _gradient_share(rows, width, height, kind)
        values = first + (last - first) * share[..., None]
        dither = _BAYER[(np.arange(rows.start, rows.stop) % 4)[:, None], columns[None, :]]
        out[rows] = np.clip(values + dither[..., None] + 0.5, 0, 255).astype(np.uint8)
    return out


def _gradient_share(rows: slice, width: int, height: int, kind: GradientKind) -> np.ndarray:
    """How far along the gradient each pixel of ``rows`` is (0 at the start, 1 at the end)."""
    if kind == "vertical":
        column = np.arange(rows.start, rows.stop, dtype=np.float32) / max(height - 1, 1)
        return np.broadcast_to(column[:, None], (rows.stop - rows.start, width))
    yy, xx = np.ogrid[rows, 0:width]
    cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
    radius = max(float(np.hypot(cx, cy)), 1.0)
    share: np.ndarray = np.hypot(xx - cx, yy - cy).astype(np.float32) / radius
    return share


def place_image(
    image: np.ndarray,
    size: tuple[int, int],
    fit: Fit = "fill",
    position: Position = "center",
    pad: RGBA = (255, 255, 255, 255),
) -> np.ndarray:
    """Scale a background photo to ``size`` (width, height).

    Args:
        image: (h, w, 3|4) uint8; transparent parts show ``pad``.
        size: the output (width, height).
        fit: ``fill`` covers the whole output and crops the overflow; ``fit`` shows the whole
            image and pads the rest with ``pad``; ``stretch`` ignores the aspect ratio.
        position: the anchor: which part is kept (fill) or where the image sits (fit).
        pad: the colour of padding and of the image's transparent parts.
    """
    width, height = size
    if image.shape[2] == 4:
        image = composite(image[..., :3], image[..., 3], solid(image.shape[1::-1], pad))
    if fit == "stretch":
        return _resize(image, width, height)
    src_h, src_w = image.shape[:2]
    fx, fy = ANCHORS[position]
    if fit == "fill":
        scale = max(width / src_w, height / src_h)
        new_w, new_h = max(width, round(src_w * scale)), max(height, round(src_h * scale))
        left, top = round((new_w - width) * fx), round((new_h - height) * fy)
        return _resize(image, new_w, new_h)[top : top + height, left : left + width]
    scale = min(width / src_w, height / src_h)
    new_w = min(width, max(1, round(src_w * scale)))
    new_h = min(height, max(1, round(src_h * scale)))
    # After the flattening above, a 4-channel image implies a translucent pad: 4 channels here.
    canvas = np.array(solid(size, pad))
    left, top = round((width - new_w) * fx), round((height - new_h) * fy)
    resized = _resize(image, new_w, new_h)
    if canvas.shape[2] == 4 and resized.shape[2] == 3:
        resized = np.dstack([resized, np.full((new_h, new_w), 255, np.uint8)])
    canvas[top : top + new_h, left : left + new_w] = resized
    return canvas


def _resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    if (image.shape[1], image.shape[0]) == (width, height):
        return image
    shrinking = width < image.shape[1] or height < image.shape[0]
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    return cv2.resize(image, (width, height), interpolation=interpolation)


def blur_behind(
    image: np.ndarray, alpha: np.ndarray, foreground: np.ndarray, radius: float
) -> np.ndarray:
    """The photo's own background, blurred, with the subject taken out first.

    Blurring the whole photo would smear the subject's colours into a glow around it. Instead
    the background's light is separated from the subject's with the matting equation
    ``I = aF + (1 - a)B``, blurred with weights ``1 - a`` (normalised convolution, in linear
    light) and divided by the blurred weights, so only background light spreads.

    The full-size light (16 bytes a pixel) is never held: it is shrunk strip by strip, blurred
    small, and grown back strip by strip (or, when no shrinking applies, blurred in tiles).

    Args:
        image: (H, W, 3) uint8 RGB photo.
        alpha: (H, W) uint8 subject coverage.
        foreground: (H, W, 3) uint8 decontaminated subject colours for ``image`` and ``alpha``.
        radius: the Gaussian's sigma in pixels.

    Returns:
        (H, W, 3) uint8 RGB; pixels with no background near them get its mean colour.
    """
    height, width = alpha.shape
    # Blur at a reduced size: a sigma of 4 px there is the asked-for sigma here, much faster.
    factor = min(1.0, 4.0 / max(radius, 1e-3))
    small_size = (max(1, round(width * factor)), max(1, round(height * factor)))
    sigma = max(radius * factor, 0.5)
    photo = _Photo(image, alpha, foreground)
    if small_size == (width, height):
        return _blurred_in_tiles(photo, sigma)
    small, mean = _shrunk_light(photo, small_size)
    small = cv2.GaussianBlur(small, (0, 0), sigmaX=sigma)
    out = np.empty((height, width, 3), np.uint8)
    for rows in row_strips(height, width):
        out[rows] = _normalised(grow_rows(small, (width, height), rows), mean)
    return out


class _Photo(NamedTuple):
    """What the background's light is computed from (all the same height and width)."""

    image: np.ndarray
    alpha: np.ndarray
    foreground: np.ndarray


def _background_light(photo: _Photo, rows: slice | Window) -> np.ndarray:
    """(h, w, 4) float32: the background's linear light times its weight, and the weight."""
    a = (photo.alpha[rows].astype(np.float32) / 255.0)[..., None]
    weight = np.where(a > 0.98, 0.0, 1.0 - a)
    mixed = photo.image[rows].astype(np.float32) - a * photo.foreground[rows].astype(np.float32)
    background = np.clip(mixed / np.maximum(weight, 1e-3) + 0.5, 0, 255).astype(np.uint8)
    return np.dstack([to_linear(background) * weight, weight])


class _MeanLight:
    """The background's mean light, summed strip by strip.

    The colour sums are float32 and added row after row, as NumPy sums the whole image's
    rows; the weights are summed in float64.
    """

    def __init__(self) -> None:
        self._sums: np.ndarray | None = None
        self._weight = 0.0

    def add(self, light: np.ndarray) -> None:
        """Count a strip of `_background_light`."""
        flat = light[..., :3].reshape(-1, 3)
        if self._sums is None:
            self._sums = flat.sum(0)
        else:
            self._sums = np.add.reduce(np.vstack([self._sums, flat]), axis=0)
        self._weight += float(light[..., 3].sum(dtype=np.float64))

    def mean(self) -> np.ndarray:
        """The mean light (float32 RGB) of everything added."""
        if self._sums is None:
            raise ValueError("no light was added")
        result: np.ndarray = self._sums / max(self._weight, _NO_BACKGROUND)
        return result


def _shrunk_light(photo: _Photo, small_size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """The light shrunk to ``small_size`` (area filter) and the background's mean light."""
    height, width = photo.alpha.shape
    small_w, small_h = small_size
    small = np.zeros((small_h, small_w, 4), np.float32)
    share = area_weights(height, small_h)
    mean = _MeanLight()
    for rows in row_strips(height, width):
        light = _background_light(photo, rows)
        mean.add(light)
        narrow = cv2.resize(light, (small_w, light.shape[0]), interpolation=cv2.INTER_AREA)
        for row in range(rows.start, rows.stop):
            for target, amount in share[row]:
                small[target] += np.float32(amount) * narrow[row - rows.start]
    return small, mean.mean()


def _blurred_in_tiles(photo: _Photo, sigma: float) -> np.ndarray:
    """The full-size blur, tile by tile, each padded by the Gaussian's reach."""
    height, width = photo.alpha.shape
    totals = _MeanLight()
    for rows in row_strips(height, width):
        totals.add(_background_light(photo, rows))
    mean = totals.mean()
    reach = round(sigma * 4 * 2 + 1) // 2 + 1  # OpenCV's kernel size for float images
    out = np.empty((height, width, 3), np.uint8)
    for tile in tiles((height, width), reach):
        light = cv2.GaussianBlur(_background_light(photo, tile.padded), (0, 0), sigmaX=sigma)
        out[tile.core] = _normalised(light[tile.inner], mean)
    return out


def _normalised(blurred: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Blurred light divided by its blurred weight, as sRGB; the mean where there is none."""
    total = blurred[..., 3:4]
    has_light = total > _NO_BACKGROUND
    out = np.where(has_light, blurred[..., :3] / np.maximum(total, _NO_BACKGROUND), mean)
    return to_srgb(out)
