"""Mask refinement: ask the network again, then let the photo's own edges decide the rim.

A salient-object network sees the photo at a few hundred pixels, so its mask is a blurred
guess upsampled. Refinement (measured in ``bench/cutout_quality.py``):

1. **Mirror pass**: the mirror image is segmented too and the two answers averaged.
2. **Zoom pass**: the subject's box (with a margin) is segmented on its own, so the network
   sees it larger; blended half and half with the first answer, feathered at the crop's sides.
3. **Clean-up**: specks (by size relative to the subject) removed; pinholes filled only when
   enclosed by confident foreground and not translucent (`center_api.sdk.vision.clean_mask`).
4. **Guided upsampling**: in the uncertain band only, alpha is re-fitted as a local linear
   function of the photo's colours (fast guided filter, He & Sun 2015), so the edge follows
   the photo's edge instead of the upsampled blur.

Four network runs in all (two with ``zoom=False``); everything at full size is uint8 or
done strip by strip, so memory stays that of the plain path.
"""

from collections.abc import Callable

import cv2
import numpy as np

from center_api.sdk.vision.matting import clean_mask
from center_api.sdk.vision.segmentation import foreground_box
from center_api.sdk.vision.tiles import erode, grow_rows, row_strips

# An (h, w, 3) uint8 RGB photo (or a view of part of one) -> the subject's probability at the
# network's size, float32 in [0, 1].
Predictor = Callable[[np.ndarray], np.ndarray]

# The zoom pass: margin around the subject's box (share of its sides), its share of the blend,
# the feather at crop sides inside the photo (share of the crop's long side); skipped when the
# crop would cover most of the photo anyway.
_ZOOM_MARGIN = 0.12
_ZOOM_WEIGHT = 0.5
_ZOOM_FEATHER = 0.05
_ZOOM_MAX_AREA = 0.8
# The guided filter: radius in network pixels, regularisation (colours in 0..1).
_GUIDE_RADIUS = 1.5
_GUIDE_EPS = 1e-3
# The uncertain band: alpha strictly between these (about 0.05 and 0.95), plus this many
# network pixels either side of the 50 % contour.
SOFT_ALPHA = (12, 243)
_BAND_WIDTH = 1.5


def refine_alpha(predict: Predictor, rgb: np.ndarray, *, zoom: bool = True) -> np.ndarray:
    """The subject's alpha, refined as the module docstring says.

    Args:
        predict: the network (e.g. `predict_probability` with ``flip=True``, bound to a
            model); called once, or twice with ``zoom``.
        rgb: (H, W, 3) uint8 photo.
        zoom: run the zoom pass.

    Returns:
        (H, W) uint8 alpha.
    """
    height, width = rgb.shape[:2]
    low = predict(rgb)
    scale = network_scale(rgb.shape, low.shape)
    alpha = upsample_probability(low, (width, height))
    if zoom:
        _zoom_pass(predict, rgb, alpha)
    alpha = clean_mask(alpha, reach=max(2, round(2 * scale)))
    return guided_band(rgb, alpha, scale)


def network_scale(shape: tuple[int, ...], network_shape: tuple[int, ...]) -> float:
    """Photo pixels per network pixel along the photo's long side."""
    return max(shape[0], shape[1]) / max(network_shape[0], network_shape[1])


def upsample_probability(probability: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """A network-size probability grown to ``size`` (width, height) as uint8 alpha.

    Bilinear, as ``cv2.resize`` does it, strip by strip: no full-size float copy.
    """
    width, height = size
    out = np.empty((height, width), np.uint8)
    for rows in row_strips(height, width):
        out[rows] = _to_u8(grow_rows(probability, size, rows))
    return out


def mask_uncertainty(alpha: np.ndarray) -> float:
    """The share of the mask the model is unsure of (0 when there is no subject).

    Pixels with alpha strictly between about 0.05 and 0.95, of all pixels above 0.05: a
    figure to route doubtful cut-outs to a person (the ``X-Uncertainty`` header).
    """
    low, high = SOFT_ALPHA
    unsure = covered = 0
    for rows in row_strips(*alpha.shape):
        strip = alpha[rows]
        above = strip > low
        covered += int(np.count_nonzero(above))
        unsure += int(np.count_nonzero(above & (strip < high)))
    return round(unsure / covered, 4) if covered else 0.0


def _zoom_pass(predict: Predictor, rgb: np.ndarray, alpha: np.ndarray) -> None:
    """Blend, in place, a second answer for the subject's box into ``alpha``."""
    height, width = alpha.shape
    box = foreground_box(alpha)
    if box is None:
        return
    left, top, box_w, box_h = box
    margin_x, margin_y = int(_ZOOM_MARGIN * box_w) + 4, int(_ZOOM_MARGIN * box_h) + 4
    x0, x1 = max(0, left - margin_x), min(width, left + box_w + margin_x)
    y0, y1 = max(0, top - margin_y), min(height, top + box_h + margin_y)
    if (x1 - x0) * (y1 - y0) > _ZOOM_MAX_AREA * height * width:
        return  # the network would see about what it saw: no gain for a run
    low = predict(rgb[y0:y1, x0:x1])
    crop_w, crop_h = x1 - x0, y1 - y0
    feather = max(2, int(_ZOOM_FEATHER * max(crop_w, crop_h)))
    weight_y = _feather(crop_h, feather, y0 > 0, y1 < height)
    weight_x = _ZOOM_WEIGHT * _feather(crop_w, feather, x0 > 0, x1 < width)
    for rows in row_strips(crop_h, crop_w):
        weight = weight_y[rows, None] * weight_x[None, :]
        zoomed = grow_rows(low, (crop_w, crop_h), rows)
        target = alpha[y0 + rows.start : y0 + rows.stop, x0:x1]
        first = target.astype(np.float32) / 255.0
        target[:] = _to_u8(first + weight * (zoomed - first))


def _feather(length: int, width: int, at_start: bool, at_end: bool) -> np.ndarray:
    """1 along a crop side, ramping to 0 over ``width`` at ends that lie inside the photo."""
    out = np.ones(length, np.float32)
    ramp = np.linspace(0.0, 1.0, min(width, length), dtype=np.float32)
    if at_start:
        out[: ramp.size] = np.minimum(out[: ramp.size], ramp)
    if at_end:
        out[length - ramp.size :] = np.minimum(out[length - ramp.size :], ramp[::-1])
    return out


def guided_band(rgb: np.ndarray, alpha: np.ndarray, scale: float) -> np.ndarray:
    """``alpha`` with its uncertain band re-fitted to the photo's colours (fast guided filter).

    The filter's coefficients are computed at about the network's resolution (the detail the
    mask has) and grown to full size, where they are applied to the full-size colours: edges
    land where the photo's edges are.

    Args:
        rgb: (H, W, 3) uint8 photo.
        alpha: (H, W) uint8 mask.
        scale: photo pixels per network pixel (`network_scale`).

    Returns:
        A new (H, W) uint8 alpha, equal to ``alpha`` outside `uncertain_band`.
    """
    height, width = alpha.shape
    band = uncertain_band(alpha, scale)
    if not band.any():
        return alpha
    step = max(1, int(scale))
    radius = max(2, round(_GUIDE_RADIUS * scale))
    small = (max(1, width // step), max(1, height // step))
    guide = cv2.resize(rgb, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    target = cv2.resize(alpha, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    coefficients = guided_coefficients(guide, target, max(1, radius // step), _GUIDE_EPS)
    return apply_in_band(rgb, alpha, band, coefficients)


def apply_in_band(
    rgb: np.ndarray, alpha: np.ndarray, band: np.ndarray, coefficients: tuple[np.ndarray, ...]
) -> np.ndarray:
    """``alpha`` with ``band`` set to a small-size linear colour model applied at full size.

    Args:
        rgb: (H, W, 3) uint8 photo.
        alpha: (H, W) uint8 mask, kept outside ``band``.
        band: (H, W) bool, where the model's alpha is used.
        coefficients: (gain (h, w, 3), offset (h, w)) of `guided_coefficients` at any size:
            grown to (H, W) bilinearly, strip by strip (no full-size float copy).

    Returns:
        A new (H, W) uint8 alpha.
    """
    height, width = alpha.shape
    gain, offset = coefficients
    out = alpha.copy()
    for rows in row_strips(height, width):
        todo = band[rows]
        if not todo.any():
            continue
        colours = rgb[rows].astype(np.float32) / 255.0
        fitted = np.einsum("ijk,ijk->ij", grow_rows(gain, (width, height), rows), colours)
        fitted += grow_rows(offset, (width, height), rows)
        out[rows][todo] = _to_u8(fitted)[todo]
    return out


def guided_coefficients(
    guide: np.ndarray, target: np.ndarray, radius: int, eps: float
) -> tuple[np.ndarray, np.ndarray]:
    """He et al.'s colour guided filter: per pixel ``q = a·I + b``, a and b box-averaged.

    Args:
        guide: (h, w, 3) float32 colours in 0..1.
        target: (h, w) float32 values to fit.
        radius: window radius in pixels.
        eps: regularisation (larger: smoother, less colour-driven).

    Returns:
        (gain (h, w, 3), offset (h, w)), float32.
    """
    mean_i, var = colour_covariance(guide, radius, eps)
    mean_p = box_mean(target, radius)
    cov_ip = box_mean(guide * target[..., None], radius) - mean_i * mean_p[..., None]
    gain = np.linalg.solve(var, cov_ip[..., None])[..., 0]
    offset = mean_p - np.einsum("ijk,ijk->ij", gain, mean_i)
    return box_mean(gain, radius), box_mean(offset, radius)


def colour_covariance(guide: np.ndarray, radius: int, eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-window mean colour (h, w, 3) and colour covariance plus ``eps`` (h, w, 3, 3)."""
    mean_i = box_mean(guide, radius)
    var = np.empty((*guide.shape[:2], 3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            var[..., i, j] = var[..., j, i] = (
                box_mean(guide[..., i] * guide[..., j], radius) - mean_i[..., i] * mean_i[..., j]
            )
    var += eps * np.eye(3, dtype=np.float32)
    return mean_i, var


def box_mean(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over the (2 radius + 1)² window around each pixel (mirrored at the borders)."""
    size = (2 * radius + 1, 2 * radius + 1)
    result: np.ndarray = cv2.boxFilter(values, -1, size, borderType=cv2.BORDER_REFLECT)
    return result


def uncertain_band(alpha: np.ndarray, scale: float) -> np.ndarray:
    """Bool (H, W): the uncertain band of ``alpha``.

    Soft alpha (`SOFT_ALPHA`), plus `_BAND_WIDTH` network pixels either side of the 50 % contour.
    """
    reach = max(1, round(_BAND_WIDTH * scale))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
    solid = (alpha >= 128).astype(np.uint8)
    band = (erode(solid, kernel) | erode(1 - solid, kernel)) == 0
    band |= (alpha > SOFT_ALPHA[0]) & (alpha < SOFT_ALPHA[1])
    return band


def _to_u8(values: np.ndarray) -> np.ndarray:
    return np.clip(values * 255.0 + 0.5, 0, 255).astype(np.uint8)
