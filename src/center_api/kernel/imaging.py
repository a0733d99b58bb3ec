"""Image I/O: safe decode (limits before pixels), mode normalisation, fast encode.

Decode order matters: byte limit → format sniff → header dimensions (megapixel limit) → pixels.
A 30000x30000 PNG bomb is refused from its header, before a single row is inflated.
"""

import io
from collections.abc import Iterator
from typing import Annotated, Literal

import cv2
import numpy as np
from msgspec import Meta
from PIL import Image, ImageOps, UnidentifiedImageError

from center_api.core.errors import (
    FileTooLargeError,
    InvalidImageError,
    ResolutionTooHighError,
    UnsupportedFormatError,
)
from center_api.core.request_facts import note_input
from center_api.core.settings import ImageSettings
from center_api.kernel.scheduler import enter_phase

try:  # the fast PNG writer (a dependency; Pillow stands in if its wheel is missing)
    import fpng as _fpng
except ImportError:  # pragma: no cover - depends on the platform's wheels
    _fpng = None

# The encodable formats, as an option type (a slice may annotate it again with its own
# description: ``Annotated[OutputFormat, Meta(description=...)]``).
OutputFormat = Annotated[Literal["png", "webp", "jpg"], Meta(description="Output format.")]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg"}
# How large the answer is, as an option type (see `scale_for_output`).
OutputSize = Annotated[
    Literal["preview", "full", "auto"],
    Meta(description="preview: at most 0.25 MP; full: input size; auto: full up to a cap."),
]
# The file extension of each media type above (``image/jpeg`` -> ``jpg``).
EXTENSIONS: dict[str, str] = {media: ext for ext, media in MEDIA_TYPES.items()}

# Well-known image formats we do not decode, recognised so the answer can name them.
_FOREIGN_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"<svg", "SVG"),
    (b"<?xml", "SVG"),
    (b"%PDF", "PDF"),
    (b"8BPS", "PSD"),
)
# Our megapixel limit (from settings, checked on the header before any pixel is decoded)
# replaces Pillow's fixed one, which would warn or raise with its own wording.
Image.MAX_IMAGE_PIXELS = None

# Pixels per strip of strip-by-strip work (see `row_strips`): 12 MB per float32 RGB temporary.
STRIP_PIXELS = 1 << 20

_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1", b"avif", b"avis")


class DecodedImage:
    """Pixels as a C-contiguous uint8 array: (H, W, 3) RGB or (H, W, 4) RGBA."""

    __slots__ = ("format", "pixels")

    def __init__(self, pixels: np.ndarray, source_format: str) -> None:
        self.pixels = pixels
        self.format = source_format

    @property
    def width(self) -> int:
        """Width in pixels."""
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        """Height in pixels."""
        return int(self.pixels.shape[0])

    @property
    def has_alpha(self) -> bool:
        """True for RGBA input."""
        return int(self.pixels.shape[2]) == 4

    @property
    def megapixels(self) -> float:
        """Width x height / 1e6."""
        return self.width * self.height / 1e6

    def rgb(self) -> np.ndarray:
        """The colour channels only (a view, no copy)."""
        return self.pixels[..., :3]


def probe_image(data: bytes, limits: ImageSettings) -> tuple[int, int]:
    """Width and height from the header, after the byte, format and megapixel checks.

    Reads no pixel data: the cost of a call can be known (and refused) before decoding.

    Raises:
        The same input errors as `decode_image`, except for corrupt pixel data.
    """
    image = _checked_header(data, limits)
    return image.width, image.height


def decode_image(data: bytes, limits: ImageSettings) -> DecodedImage:
    """Decode ``data`` into RGB/RGBA pixels within ``limits``.

    Raises:
        FileTooLargeError: more bytes than ``limits.max_bytes``.
        InvalidImageError: empty, truncated, corrupt, or not an image at all.
        UnsupportedFormatError: a real image format that is not in ``limits.allowed_formats``.
        ResolutionTooHighError: the header declares more than ``limits.max_megapixels``.

    Called inside a job, it gives the job's inference slot to the next job first (decoding
    needs no model; the job's next model call takes a slot again).
    """
    image = _checked_header(data, limits)
    enter_phase("decode")
    source_format = image.format or ""
    try:
        image.load()
        # In place: without it an upright photo is copied whole (4 bytes a pixel) for nothing.
        ImageOps.exif_transpose(image, in_place=True)
        pixels = _to_array(image)
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImageError(f"The image data is corrupt or truncated: {exc}") from exc
    finally:
        image.close()
    return DecodedImage(pixels, source_format)


def _checked_header(data: bytes, limits: ImageSettings) -> Image.Image:
    """The opened (not yet decoded) image, once its bytes and header pass ``limits``."""
    if len(data) > limits.max_bytes:
        raise FileTooLargeError(
            "The image is larger than this server accepts.",
            details={"bytes": len(data), "max_bytes": limits.max_bytes},
        )
    if not data:
        raise InvalidImageError("The image is empty (0 bytes).")
    image = _open(data, limits)
    note_input(image.width, image.height, len(data))
    megapixels = image.width * image.height / 1e6
    if megapixels > limits.max_megapixels:
        raise ResolutionTooHighError(
            f"The image is {image.width}x{image.height} ({megapixels:.1f} MP); the limit is "
            f"{limits.max_megapixels:g} MP.",
            details={
                "width": image.width,
                "height": image.height,
                "max_megapixels": limits.max_megapixels,
            },
        )
    return image


def _open(data: bytes, limits: ImageSettings) -> Image.Image:
    allowed = {f.upper() for f in limits.allowed_formats}
    try:
        image = Image.open(io.BytesIO(data), formats=sorted(allowed))
    except UnidentifiedImageError:
        foreign = _sniff_foreign(data)
        if foreign is None:
            try:  # a real image, just not one we accept?
                with Image.open(io.BytesIO(data)) as other:
                    foreign = other.format
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
                foreign = None
        if foreign:
            raise UnsupportedFormatError(
                f"{foreign} images are not supported; send one of {', '.join(sorted(allowed))}.",
                details={"format": foreign, "allowed": sorted(allowed)},
            ) from None
        raise InvalidImageError("The data is not a recognisable image.") from None
    except (OSError, ValueError, SyntaxError) as exc:
        raise InvalidImageError(f"The image header is corrupt: {exc}") from exc
    if image.width <= 0 or image.height <= 0:
        raise InvalidImageError("The image has no pixels.")
    return image


def _sniff_foreign(data: bytes) -> str | None:
    head = data[:256].lstrip()
    for signature, name in _FOREIGN_SIGNATURES:
        if head.startswith(signature):
            return name
    if data[4:8] == b"ftyp" and data[8:12] in _HEIF_BRANDS:
        return "AVIF" if data[8:12].startswith(b"avi") else "HEIC"
    return None


def _to_array(image: Image.Image) -> np.ndarray:
    """Normalise every mode to uint8 RGB or RGBA (animated images give their first frame).

    Copied into the array strip by strip: a whole-image ``np.asarray`` goes through
    ``tobytes``, which holds the pixels twice more (its chunks and their join) beside Pillow's.
    """
    mode = image.mode
    if mode in {"I;16", "I;16B", "I;16L", "I;16N", "I", "F"}:
        return _high_depth_to_rgb(image)
    has_alpha = mode in {"RGBA", "LA", "PA", "RGBa", "La"} or "transparency" in image.info
    target = "RGBA" if has_alpha else "RGB"
    width, height = image.size
    pixels = np.empty((height, width, len(target)), np.uint8)
    for rows in row_strips(height, width):
        strip = image.crop((0, rows.start, width, rows.stop))
        pixels[rows] = np.asarray(strip if mode == target else strip.convert(target))
    return pixels


def _high_depth_to_rgb(image: Image.Image) -> np.ndarray:
    values = np.asarray(image)
    is_float = values.dtype.kind == "f"
    top = float(values.max())
    peak = 65535 if top > 255 else 255
    grey = np.empty(values.shape, np.uint8)
    for rows in row_strips(*values.shape):
        part = values[rows]
        if is_float:
            scaled = np.clip(part, 0.0, 1.0) * 255.0 if top <= 1.0 else np.clip(part, 0, 255)
        else:
            scaled = part.astype(np.float32) * (255.0 / peak)
        grey[rows] = np.round(scaled).astype(np.uint8)
    return np.ascontiguousarray(np.repeat(grey[..., None], 3, axis=2))


def row_strips(height: int, width: int, pixels: int = STRIP_PIXELS) -> Iterator[slice]:
    """Consecutive row ranges covering ``height`` rows, each about ``pixels`` pixels.

    Whole-image pixel work done strip by strip keeps its temporaries a few MB whatever the
    image's size (`center_api.sdk.vision.tiles` builds on it).
    """
    rows = max(1, pixels // max(1, width))
    for top in range(0, height, rows):
        yield slice(top, min(height, top + rows))


def scale_for_output(pixels: np.ndarray, size: str, limits: ImageSettings) -> np.ndarray:
    """Downscale once (area filter) to the size asked for; never upscale.

    ``preview`` caps at ``limits.preview_megapixels``, ``auto`` at ``auto_max_megapixels``,
    ``full`` keeps the input size.
    """
    height, width = pixels.shape[:2]
    cap = {"preview": limits.preview_megapixels, "auto": limits.auto_max_megapixels}.get(size)
    megapixels = width * height / 1e6
    if cap is None or megapixels <= cap:
        return pixels
    factor = (cap / megapixels) ** 0.5
    target = (max(1, int(width * factor)), max(1, int(height * factor)))
    return cv2.resize(pixels, target, interpolation=cv2.INTER_AREA)


def decode_scaled(
    data: bytes, size: str, limits: ImageSettings
) -> tuple[np.ndarray, tuple[int, int]]:
    """Decode ``data`` and scale it for ``size``: the pixels and the input's (width, height).

    Only the returned pixels stay alive (at ``size=full`` they are the decoded array itself).

    Raises:
        InputError: the bytes are not an acceptable image (see `decode_image`).
    """
    image = decode_image(data, limits)
    return scale_for_output(image.pixels, size, limits), (image.width, image.height)


def encode_image(pixels: np.ndarray, fmt: OutputFormat, settings: ImageSettings) -> bytes:
    """Encode RGB/RGBA/grey uint8 pixels as PNG, WebP or JPEG with speed-sensible settings.

    Called inside a job, it gives the job's inference slot to the next job first (encoding
    needs no model). The encoders are the fastest measured (``bench/encoders.py``): PNG with
    fpng at ``png_compress_level`` 0-1 (about ten times Pillow's level 1, files ~5 % larger;
    higher levels and grey images use Pillow), JPEG with OpenCV's libjpeg-turbo, WebP with
    Pillow. Every PNG encoder gives the same pixels.

    Raises:
        ValueError: JPEG asked for pixels with an alpha channel (flatten first).
    """
    enter_phase("encode")
    if fmt == "png" and _fpng is not None and pixels.ndim == 3 and settings.png_compress_level <= 1:
        return bytes(_fpng.from_ndarray(np.ascontiguousarray(pixels)))
    if fmt == "jpg":
        return _encode_jpeg(pixels, settings.jpeg_quality)
    image = Image.fromarray(pixels)  # mode follows the shape: (H,W) L, (H,W,3) RGB, (H,W,4) RGBA
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, format="PNG", compress_level=settings.png_compress_level)
    else:
        image.save(out, format="WEBP", quality=settings.webp_quality, method=2)
    return out.getvalue()


def _encode_jpeg(pixels: np.ndarray, quality: int) -> bytes:
    if pixels.ndim == 3 and pixels.shape[2] == 4:
        raise ValueError("JPEG cannot store alpha; flatten onto a colour first")
    bgr = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR) if pixels.ndim == 3 else pixels
    is_encoded, data = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not is_encoded:  # pragma: no cover - OpenCV refuses only malformed arrays
        raise ValueError("OpenCV could not encode the JPEG")
    return data.tobytes()
