"""remove.bg's finishing steps on a cut-out subject: size cap, scale, position, shadow, background.

Pure array work on an RGBA cut-out (H, W, 4) uint8, so it is tested without a model. The
cut-out itself comes from the cutout slice; these are the parameters remove.bg has and the
cutout slice does not.
"""

import io
import re
import zipfile

import cv2
import numpy as np

from center_api.core.errors import NoForegroundError, ValidationError

# remove.bg's sizes → the most megapixels the result may have (None: the input's own size).
SIZE_CAPS: dict[str, float | None] = {
    "preview": 0.25,
    "small": 0.25,
    "regular": 0.25,
    "medium": 1.5,
    "hd": 4.0,
    "4k": 25.0,
    "full": 25.0,
    "50MP": 50.0,
    "auto": 25.0,
}
_PERCENT = re.compile(r"^\s*(\d{1,3}(?:\.\d+)?)\s*%\s*$")
_SHADOW_OPACITY = 0.45


def cap_megapixels(rgba: np.ndarray, size: str) -> np.ndarray:
    """Downscale (area filter) to the size's megapixel cap; never upscale."""
    cap = SIZE_CAPS[size]
    height, width = rgba.shape[:2]
    megapixels = width * height / 1e6
    if cap is None or megapixels <= cap:
        return rgba
    factor = (cap / megapixels) ** 0.5
    target = (max(1, int(width * factor)), max(1, int(height * factor)))
    return np.ascontiguousarray(cv2.resize(rgba, target, interpolation=cv2.INTER_AREA))


def foreground_box(alpha: np.ndarray) -> tuple[int, int, int, int]:
    """``(left, top, width, height)`` of the non-transparent pixels.

    Raises:
        NoForegroundError: every pixel is transparent (remove.bg's ``unknown_foreground``).
    """
    rows, cols = np.flatnonzero(alpha.max(axis=1)), np.flatnonzero(alpha.max(axis=0))
    if rows.size == 0:
        raise NoForegroundError("Could not identify a foreground in the image.")
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)


def parse_scale(text: str) -> float | None:
    """``"original"`` → None; ``"10%"``…``"100%"`` → the fraction.

    Raises:
        ValidationError: anything else.
    """
    if text.strip().lower() == "original":
        return None
    match = _PERCENT.match(text)
    value = float(match.group(1)) if match else -1.0
    if not 10 <= value <= 100:
        raise ValidationError(
            "scale is 'original' or a percentage from 10% to 100%.", details={"scale": text}
        )
    return value / 100


def parse_position(text: str) -> tuple[float, float] | None:
    """``"original"`` → None; ``"center"`` → (0.5, 0.5); ``"X%"`` or ``"X% Y%"`` → fractions.

    Raises:
        ValidationError: anything else.
    """
    words = text.replace(",", " ").split()
    if [w.lower() for w in words] == ["original"]:
        return None
    if [w.lower() for w in words] in (["center"], ["centre"]):
        return 0.5, 0.5
    matches = [_PERCENT.match(word) for word in words]
    values = [float(m.group(1)) / 100 for m in matches if m]
    if len(words) not in (1, 2) or len(values) != len(words) or max(values) > 1:
        raise ValidationError(
            "position is 'original', 'center', or one or two percentages from 0% to 100%.",
            details={"position": text},
        )
    return values[0], values[-1]


def place(
    rgba: np.ndarray, scale: float | None, position: tuple[float, float] | None
) -> np.ndarray:
    """The subject scaled to ``scale`` of the canvas and placed at ``position``.

    ``scale`` None keeps its size; ``position`` None keeps its place (a scaled subject stays
    centred where it was). The canvas keeps its size.
    """
    if scale is None and position is None:
        return rgba
    height, width = rgba.shape[:2]
    left, top, box_w, box_h = foreground_box(rgba[..., 3])
    subject = rgba[top : top + box_h, left : left + box_w]
    factor = 1.0 if scale is None else min(width * scale / box_w, height * scale / box_h)
    new_w, new_h = max(1, round(box_w * factor)), max(1, round(box_h * factor))
    if (new_w, new_h) != (box_w, box_h):
        shrink = factor < 1
        method = cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
        subject = cv2.resize(subject, (new_w, new_h), interpolation=method)
    if position is None:
        x = round(left + box_w / 2 - new_w / 2)
        y = round(top + box_h / 2 - new_h / 2)
    else:
        x, y = round((width - new_w) * position[0]), round((height - new_h) * position[1])
    canvas = np.zeros_like(rgba)
    _paste(canvas, subject, x, y)
    return canvas


def _paste(canvas: np.ndarray, subject: np.ndarray, x: int, y: int) -> None:
    """Copy ``subject`` onto ``canvas`` at (x, y), clipped to the canvas."""
    height, width = canvas.shape[:2]
    x0, y0 = max(x, 0), max(y, 0)
    x1, y1 = min(x + subject.shape[1], width), min(y + subject.shape[0], height)
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = subject[y0 - y : y1 - y, x0 - x : x1 - x]


def harden(rgba: np.ndarray) -> np.ndarray:
    """No semi-transparency: every pixel fully opaque or fully transparent (at 50 %)."""
    rgba[..., 3] = np.where(rgba[..., 3] >= 128, 255, 0).astype(np.uint8)
    return rgba


def with_shadow(rgba: np.ndarray) -> np.ndarray:
    """A soft drop shadow under the subject, down and to the right, in the alpha channel."""
    alpha = rgba[..., 3]
    _, _, box_w, box_h = foreground_box(alpha)
    reach = max(1, round(0.02 * max(box_w, box_h)))
    moved = np.zeros_like(alpha)
    moved[reach:, reach:] = alpha[:-reach, :-reach]
    sigma = max(1.0, 1.5 * reach)
    shadow = cv2.GaussianBlur(moved, (0, 0), sigma).astype(np.float32) * _SHADOW_OPACITY
    own = alpha.astype(np.float32) / 255
    out = np.empty_like(rgba)
    combined = own * 255 + shadow * (1 - own)
    # Colour: the subject where it is, black (the shadow) around it, weighted by coverage.
    weight = np.divide(own * 255, combined, out=np.zeros_like(combined), where=combined > 0)
    out[..., :3] = (rgba[..., :3].astype(np.float32) * weight[..., None]).astype(np.uint8)
    out[..., 3] = np.clip(combined, 0, 255).astype(np.uint8)
    return out


def on_background(rgba: np.ndarray, background: np.ndarray) -> np.ndarray:
    """The subject over ``background`` (RGB or RGBA), which is scaled to cover the canvas."""
    height, width = rgba.shape[:2]
    bg_h, bg_w = background.shape[:2]
    factor = max(width / bg_w, height / bg_h)
    size = (max(width, round(bg_w * factor)), max(height, round(bg_h * factor)))
    scaled = cv2.resize(background[..., :3], size, interpolation=cv2.INTER_AREA)
    x, y = (size[0] - width) // 2, (size[1] - height) // 2
    base = scaled[y : y + height, x : x + width].astype(np.float32)
    alpha = rgba[..., 3:4].astype(np.float32) / 255
    mixed = rgba[..., :3].astype(np.float32) * alpha + base * (1 - alpha)
    return np.ascontiguousarray(np.clip(mixed + 0.5, 0, 255).astype(np.uint8))


def zip_of(color_jpg: bytes, alpha_png: bytes) -> bytes:
    """remove.bg's ZIP format: ``color.jpg`` (the colours, no alpha) and ``alpha.png``."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("color.jpg", color_jpg)
        archive.writestr("alpha.png", alpha_png)
    return out.getvalue()
