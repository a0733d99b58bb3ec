"""Crafted bad and unusual files, each mapped to a stable code or a correct decode."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from center_api.core.errors import AppException
from center_api.core.settings import ImageSettings
from center_api.kernel.imaging import decode_image, encode_image

LIMITS = ImageSettings()


def save(image: Image.Image, fmt: str, **params) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **params)
    return out.getvalue()


def png_with_header(width: int, height: int) -> bytes:
    """A tiny PNG whose IHDR declares width x height (a decompression bomb's header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    chunk = b"IHDR" + ihdr
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + chunk
        + struct.pack(">I", zlib.crc32(chunk))
        + struct.pack(">I", len(idat))
        + b"IDAT"
        + idat
        + struct.pack(">I", zlib.crc32(b"IDAT" + idat))
        + struct.pack(">I", 0)
        + b"IEND"
        + struct.pack(">I", zlib.crc32(b"IEND"))
    )


def code_of(data: bytes, limits: ImageSettings = LIMITS) -> str:
    with pytest.raises(AppException) as err:
        decode_image(data, limits)
    return err.value.code


def rgb_image(size=(64, 48)) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


@pytest.mark.parametrize(
    ("name", "data", "code"),
    [
        ("empty", b"", "INVALID_IMAGE"),
        ("text renamed .png", b"hello, I am not an image\n" * 10, "INVALID_IMAGE"),
        (
            "svg",
            b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"/>',
            "UNSUPPORTED_FORMAT",
        ),
        (
            "heic",
            b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + b"\x00" * 64,
            "UNSUPPORTED_FORMAT",
        ),
        ("png bomb header", png_with_header(30000, 30000), "RESOLUTION_TOO_HIGH"),
        ("huge dimension header", png_with_header(2**31 - 1, 2), "RESOLUTION_TOO_HIGH"),
    ],
)
def test_crafted_inputs_get_stable_codes(name, data, code):
    assert code_of(data) == code, name


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_truncated_files_are_invalid_images(fmt):
    data = save(rgb_image((256, 256)), fmt)
    assert code_of(data[: len(data) // 2]) == "INVALID_IMAGE"


def test_over_the_byte_limit_is_refused_before_decoding():
    limits = ImageSettings(max_bytes=1000)
    assert code_of(b"\x89PNG" + b"\x00" * 2000, limits) == "FILE_TOO_LARGE"


def test_a_real_format_that_is_not_allowed_is_unsupported():
    data = save(rgb_image(), "TIFF")
    limits = ImageSettings(allowed_formats=["JPEG", "PNG"])
    assert code_of(data, limits) == "UNSUPPORTED_FORMAT"


def test_megapixel_limit_comes_from_settings():
    data = save(rgb_image((200, 100)), "PNG")
    assert code_of(data, ImageSettings(max_megapixels=0.01)) == "RESOLUTION_TOO_HIGH"
    assert decode_image(data, ImageSettings(max_megapixels=0.03)).width == 200


def test_palette_with_transparency_keeps_alpha():
    image = Image.new("P", (8, 8), 0)
    image.putpalette([255, 0, 0, 0, 255, 0] + [0] * 762)
    image.putpixel((0, 0), 1)
    image.info["transparency"] = 0
    decoded = decode_image(save(image, "PNG", transparency=0), LIMITS)
    assert decoded.has_alpha
    assert decoded.pixels[0, 0].tolist() == [0, 255, 0, 255]
    assert decoded.pixels[1, 1, 3] == 0


def test_la_becomes_rgba_and_cmyk_becomes_rgb():
    la = decode_image(save(Image.new("LA", (4, 4), (128, 77)), "PNG"), LIMITS)
    assert la.pixels.shape == (4, 4, 4)
    assert la.pixels[0, 0].tolist() == [128, 128, 128, 77]
    cmyk = decode_image(save(Image.new("CMYK", (4, 4), (0, 255, 255, 0)), "JPEG"), LIMITS)
    assert cmyk.pixels.shape == (4, 4, 3)
    red, green, blue = cmyk.pixels[0, 0].tolist()
    assert red > 200 and green < 60 and blue < 60


def test_sixteen_bit_grey_is_scaled_not_clipped():
    values = np.array([[0, 32768, 65535]], dtype=np.uint16)
    decoded = decode_image(save(Image.fromarray(values), "PNG"), LIMITS)
    assert decoded.pixels.shape == (1, 3, 3)
    assert decoded.pixels[0, :, 0].tolist() == [0, 128, 255]


def test_animated_gif_gives_the_first_frame():
    frames = [Image.new("RGB", (10, 10), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = save(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=50)
    decoded = decode_image(data, LIMITS)
    red, _, blue = decoded.pixels[5, 5].tolist()
    assert red > 200 and blue < 50


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (40, 20), (0, 0, 0))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    decoded = decode_image(save(image, "JPEG", exif=exif), LIMITS)
    assert (decoded.width, decoded.height) == (20, 40)


@pytest.mark.parametrize("fmt", ["png", "webp"])
def test_encode_round_trips_rgba(fmt):
    pixels = np.zeros((16, 16, 4), dtype=np.uint8)
    pixels[4:12, 4:12] = (10, 200, 30, 255)
    decoded = decode_image(encode_image(pixels, fmt, LIMITS), LIMITS)
    assert decoded.has_alpha
    assert decoded.pixels[8, 8, 3] == 255 and decoded.pixels[0, 0, 3] == 0


def test_jpeg_refuses_alpha_and_encodes_rgb():
    with pytest.raises(ValueError, match="alpha"):
        encode_image(np.zeros((4, 4, 4), dtype=np.uint8), "jpg", LIMITS)
    data = encode_image(np.zeros((4, 4, 3), dtype=np.uint8), "jpg", LIMITS)
    assert data[:2] == b"\xff\xd8"
