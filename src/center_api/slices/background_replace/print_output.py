"""Print-ready files: dpi in the file, JPEG under a byte budget, sheets of copies.

Sheets are photo paper tiled with copies of one photo, with cut guides round each copy (only
round the cells that hold one: no line runs through empty paper).
"""

import io
from typing import NamedTuple

import cv2
import numpy as np
from PIL import Image

from center_api.sdk import ImageSettings, OutputFormat, TargetSizeUnreachableError, ValidationError
from center_api.sdk.vision import RGBA
from center_api.slices.background_replace.backgrounds import solid
from center_api.slices.background_replace.light import composite
from center_api.slices.background_replace.presets import MM_PER_INCH, PrintSheet

# Space between copies on a sheet (and around them): room for the scissors.
CUT_GAP_MM = 2.0
CUT_GUIDE: RGBA = (200, 200, 200, 255)
PAPER: RGBA = (255, 255, 255, 255)
_BEST_JPEG = 95  # Pillow's advice: above 95 the file grows with no visible gain
_EXIF_X_RESOLUTION, _EXIF_Y_RESOLUTION, _EXIF_RESOLUTION_UNIT = 0x011A, 0x011B, 0x0128


class Encoded(NamedTuple):
    """An encoded file and the quality it was written with (None for lossless PNG)."""

    content: bytes
    quality: int | None


def encode_with_dpi(
    pixels: np.ndarray,
    fmt: OutputFormat,
    settings: ImageSettings,
    dpi: int,
    quality: int | None = None,
) -> bytes:
    """Encode like `center_api.sdk.encode_image`, with ``dpi`` in the file.

    PNG gets a pHYs chunk, JPEG its JFIF density, WebP EXIF resolution tags.

    Raises:
        ValueError: JPEG asked for pixels with an alpha channel.
    """
    image = Image.fromarray(pixels)
    out = io.BytesIO()
    if fmt == "png":
        image.save(out, format="PNG", compress_level=settings.png_compress_level, dpi=(dpi, dpi))
    elif fmt == "webp":
        exif = Image.Exif()
        exif[_EXIF_X_RESOLUTION], exif[_EXIF_Y_RESOLUTION] = float(dpi), float(dpi)
        exif[_EXIF_RESOLUTION_UNIT] = 2  # inches
        image.save(
            out,
            format="WEBP",
            quality=quality or settings.webp_quality,
            method=2,
            exif=exif.tobytes(),
        )
    else:
        if image.mode == "RGBA":
            raise ValueError("JPEG cannot store alpha; flatten onto a colour first")
        image.save(out, format="JPEG", quality=quality or settings.jpeg_quality, dpi=(dpi, dpi))
    return out.getvalue()


def encode_jpeg_within(
    pixels: np.ndarray, settings: ImageSettings, dpi: int, max_bytes: int
) -> Encoded:
    """The best-quality JPEG (quality 1-95, binary search) that fits in ``max_bytes``.

    Raises:
        TargetSizeUnreachableError: even quality 1 is larger (details give the smallest size).
    """
    best = encode_with_dpi(pixels, "jpg", settings, dpi, _BEST_JPEG)
    if len(best) <= max_bytes:
        return Encoded(best, _BEST_JPEG)
    smallest = encode_with_dpi(pixels, "jpg", settings, dpi, 1)
    if len(smallest) > max_bytes:
        raise TargetSizeUnreachableError(
            f"Even at the lowest JPEG quality the photo needs {len(smallest)} bytes; the target "
            f"is {max_bytes}.",
            details={"target_bytes": max_bytes, "smallest_bytes": len(smallest)},
        )
    low, high, found = 1, _BEST_JPEG - 1, Encoded(smallest, 1)
    while low <= high:
        middle = (low + high) // 2
        content = encode_with_dpi(pixels, "jpg", settings, dpi, middle)
        if len(content) <= max_bytes:
            found, low = Encoded(content, middle), middle + 1
        else:
            high = middle - 1
    return found


class Sheet(NamedTuple):
    """A print sheet with its copies: ``columns`` x ``rows`` cells, ``copies`` of them used."""

    pixels: np.ndarray
    copies: int
    columns: int
    rows: int


def tile_on_sheet(
    photo: np.ndarray, photo_dpi: int, sheet: PrintSheet, copies: int | None = None
) -> Sheet:
    """Tile copies of ``photo`` on ``sheet``, at their true printed size.

    The photo is rescaled from ``photo_dpi`` to the sheet's resolution, so it prints at its
    physical size; copies are ``CUT_GAP_MM`` apart, the grid is centred, and thin grey cut
    guides run through the gaps round every used cell (never across a photo, never through an
    empty cell).

    Args:
        photo: (H, W, 3|4) uint8 photo.
        photo_dpi: the photo's print resolution.
        sheet: the paper.
        copies: fill only this many cells, row by row (default: every cell).

    Raises:
        ValidationError: the photo is larger than the sheet.
    """
    if photo.shape[2] == 4:
        photo = composite(photo[..., :3], photo[..., 3], solid(photo.shape[1::-1], PAPER))
    factor = sheet.dpi / photo_dpi
    if factor != 1.0:
        size = (max(1, round(photo.shape[1] * factor)), max(1, round(photo.shape[0] * factor)))
        interpolation = cv2.INTER_AREA if factor < 1.0 else cv2.INTER_CUBIC
        photo = cv2.resize(photo, size, interpolation=interpolation)
    height, width = photo.shape[:2]
    gap = round(CUT_GAP_MM / MM_PER_INCH * sheet.dpi)
    columns = (sheet.width_px - gap) // (width + gap)
    rows = (sheet.height_px - gap) // (height + gap)
    if columns < 1 or rows < 1:
        raise ValidationError(
            f"A {width}x{height} px photo does not fit on the {sheet.name} sheet.",
            details={"photo": [width, height], "sheet": [sheet.width_px, sheet.height_px]},
        )
    paper = np.full((sheet.height_px, sheet.width_px, 3), PAPER[:3], np.uint8)
    left = (sheet.width_px - columns * (width + gap) + gap) // 2
    top = (sheet.height_px - rows * (height + gap) + gap) // 2
    used = columns * rows if copies is None else max(0, min(copies, columns * rows))
    half = (gap + 1) // 2
    for index in range(used):
        row, column = divmod(index, columns)
        x, y = left + column * (width + gap), top + row * (height + gap)
        # The guide rectangle: through the middle of the gaps round this cell.
        corner = (x - half, y - half)
        cv2.rectangle(
            paper, corner, (x + width + gap - half, y + height + gap - half), CUT_GUIDE[:3], 1
        )
    for index in range(used):
        row, column = divmod(index, columns)
        x, y = left + column * (width + gap), top + row * (height + gap)
        paper[y : y + height, x : x + width] = photo
    return Sheet(paper, used, columns, rows)
