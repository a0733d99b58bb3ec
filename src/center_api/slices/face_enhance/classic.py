"""The classic face engine: no weights, always available.

On an aligned face crop (see `face_restore`), in this order:

1. edge-preserving denoise (non-local means), as strong as the crop's noise and blur call for
   (none on a clean, sharp face);
2. mild skin smoothing: a bilateral filter weighted by a skin-colour mask and by the absence of
   edges, so eyes, brows, lips and hairline keep their detail;
3. local contrast on luminance (a large-radius unsharp mask, which keeps the mean brightness);
4. detail sharpening on luminance (unsharp mask with soft coring, so what noise remains is not
   amplified), stronger and wider the blurrier the face measures.

The crop comes at about the face's own resolution, so every radius here is in face pixels. The
strengths were tuned with ``bench/face_quality.py`` (blur + noise + JPEG on clean portraits)
and by eye on sharp ones, which the engine must not over-process.

Colour (Lab a/b) is left to the denoiser: no step shifts it. The result is pasted back through the
feathered face mask like any other engine's. CPU-heavy: call inside a kernel slot.
"""

import cv2
import numpy as np

from center_api.slices.face_enhance.restore import face_mask

_NOISE_FLOOR = 2.5  # grey levels: below this the "noise" is the face's own texture
_MIN_DENOISE, _MAX_DENOISE = 1.5, 18.0
_SKIN_SMOOTHING = 0.25
_CONTRAST_MIX = 0.1
_CORING = 2.0  # grey levels of detail treated as noise by the sharpener
# Fine-over-coarse detail of a face crop: sharp photos measure >= 0.32, blurred ones <= 0.25.
_SHARP, _BLURRED = 0.36, 0.22


def enhance_classic(crop: np.ndarray) -> np.ndarray:
    """Enhance one aligned face crop, as strongly as it is noisy and blurred.

    Args:
        crop: (n, n, 3) uint8 RGB, at about the face's own resolution.

    Returns:
        (n, n, 3) uint8 RGB.
    """
    size = crop.shape[0]
    sigma = estimate_noise(crop)
    need = blur_need(crop)
    base = _denoise(crop, max(1.2 * sigma if sigma > _NOISE_FLOOR else 0.0, 4.5 * need))
    base = _smooth_skin(base, size)
    lab = cv2.cvtColor(base, cv2.COLOR_RGB2LAB)
    luminance = _local_contrast(lab[..., 0], size)
    amount, radius = 0.3 + 0.9 * need, 1.5 + 1.5 * need
    lab[..., 0] = _sharpen(luminance, amount, radius, sigma)
    out: np.ndarray = cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)
    return out


def estimate_noise(rgb: np.ndarray) -> float:
    """Standard deviation of the noise in grey levels.

    Robust (median) size of the finest detail in the flatter half of the crop, calibrated so
    white Gaussian noise of sigma s measures about s.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    residual = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))
    smooth = cv2.GaussianBlur(grey, (0, 0), 2.0)
    gradient = cv2.magnitude(
        cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    )
    flat = gradient <= np.median(gradient)
    return float(1.4826 * np.median(residual[flat]) / 0.63)


def blur_need(rgb: np.ndarray) -> float:
    """0 for a sharp face crop, 1 for a clearly blurred one (fine vs coarse detail)."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    core = face_mask(grey.shape[0]) > 0.5
    fine = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 1.0))[core].mean()
    coarse = np.abs(grey - cv2.GaussianBlur(grey, (0, 0), 4.0))[core].mean()
    ratio = float(fine / max(float(coarse), 1e-6))
    return float(np.clip((_SHARP - ratio) / (_SHARP - _BLURRED), 0.0, 1.0))


def _denoise(rgb: np.ndarray, strength: float) -> np.ndarray:
    if strength < _MIN_DENOISE:
        return rgb
    strength = float(min(strength, _MAX_DENOISE))
    out: np.ndarray = cv2.fastNlMeansDenoisingColored(rgb, None, strength, strength, 5, 13)
    return out


def _smooth_skin(rgb: np.ndarray, size: int) -> np.ndarray:
    """Blend towards a bilateral-filtered copy where the crop is skin-coloured and flat."""
    ycrcb = cv2.cvtColor(rgb, cv2.COLOR_RGB2YCrCb)
    skin = cv2.inRange(ycrcb, (0, 135, 85), (255, 180, 135)).astype(np.float32) / 255.0
    grey = ycrcb[..., 0].astype(np.float32)
    edges = cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0), cv2.Sobel(grey, cv2.CV_32F, 0, 1))
    flat = 1.0 - np.clip(edges / 60.0, 0.0, 1.0)
    radius = max(1.0, size / 256.0)
    weight = cv2.GaussianBlur(skin * flat, (0, 0), 2.0 * radius) * _SKIN_SMOOTHING
    smooth = cv2.bilateralFilter(rgb, max(3, round(4 * radius)) | 1, 20.0, 3.0 * radius)
    blended = rgb + weight[..., None] * (smooth.astype(np.float32) - rgb)
    return np.clip(np.rint(blended), 0, 255).astype(np.uint8)


def _local_contrast(luminance: np.ndarray, size: int) -> np.ndarray:
    """Large-radius unsharp mask ("clarity"): more local contrast, same mean brightness."""
    lum = luminance.astype(np.float32)
    base = cv2.GaussianBlur(lum, (0, 0), size / 20.0)
    return np.clip(np.rint(lum + _CONTRAST_MIX * (lum - base)), 0, 255).astype(np.uint8)


def _sharpen(luminance: np.ndarray, amount: float, radius: float, sigma: float) -> np.ndarray:
    """Unsharp mask; detail below the coring level (or the residual noise) is left alone."""
    lum = luminance.astype(np.float32)
    detail = lum - cv2.GaussianBlur(lum, (0, 0), radius)
    coring = max(_CORING, 0.5 * sigma)
    magnitude = np.abs(detail)
    kept = detail * np.clip((magnitude - coring) / np.maximum(magnitude, 1e-6), 0.0, 1.0)
    return np.clip(np.rint(lum + amount * kept), 0, 255).astype(np.uint8)
