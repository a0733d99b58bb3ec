"""Encoders side by side on a real 1536 px cut-out: time, size, and whether the pixels survive.

``python bench/encoders.py [--photo PATH] [--repeat N]``. The cut-out is made by the server's
own code (u2netp, transparent pixels stored as transparent black), so the PNG candidates see
what the service really writes. Candidates that are not installed are listed as skipped; the
optional ones (``fpng``, ``simplejpeg``, ``zlib-ng``) come from PyPI. Lossless candidates must
decode to the identical pixels; lossy ones print their mean absolute error against the input.
"""

import argparse
import io
import statistics
import sys
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DEFAULT_PHOTO, cutout_pixels

Encoder = Callable[[np.ndarray], bytes]


def pil(fmt: str, **params: object) -> Encoder:
    def encode(pixels: np.ndarray) -> bytes:
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, format=fmt, **params)
        return out.getvalue()

    return encode


def opencv(ext: str, *params: int) -> Encoder:
    def encode(pixels: np.ndarray) -> bytes:
        bgr = cv2.cvtColor(
            pixels, cv2.COLOR_RGBA2BGRA if pixels.shape[2] == 4 else cv2.COLOR_RGB2BGR
        )
        ok, data = cv2.imencode(ext, bgr, list(params))
        assert ok
        return data.tobytes()

    return encode


def optional(name: str) -> Encoder | None:
    """The encoders that need a package this project does not depend on."""
    try:
        if name == "fpng":
            import fpng  # noqa: PLC0415

            return fpng.from_ndarray
        if name == "simplejpeg":
            import simplejpeg  # noqa: PLC0415

            return lambda p: simplejpeg.encode_jpeg(np.ascontiguousarray(p), quality=90)
        if name == "zlib-ng":
            from zlib_ng import zlib_ng  # noqa: PLC0415

            return lambda p: png_writer(p, lambda raw: zlib_ng.compress(raw, 1))
    except ImportError:
        return None
    raise ValueError(name)


def png_writer(pixels: np.ndarray, compress: Callable[[bytes], bytes]) -> bytes:
    """A minimal PNG (filter 'up' on every row) around ``compress``: the deflate step alone."""
    height, width, channels = pixels.shape
    up = pixels.astype(np.int16)
    up[1:] -= pixels[:-1]
    rows = np.empty((height, 1 + width * channels), np.uint8)
    rows[:, 0] = 2
    rows[0, 0] = 0
    rows[:, 1:] = (up.reshape(height, -1) & 0xFF).astype(np.uint8)
    rows[0, 1:] = pixels[0].reshape(-1)

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return len(body).to_bytes(4, "big") + kind + body + crc.to_bytes(4, "big")

    color = 6 if channels == 4 else 2
    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, color, 0, 0, 0])
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", compress(rows.tobytes()))
        + chunk(b"IEND", b"")
    )


def decoded(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA" if image.mode in {"RGBA", "LA", "P"} else "RGB"))


def candidates() -> dict[str, dict[str, Encoder | None]]:
    return {
        "png (RGBA cut-out)": {
            "Pillow level 1 (shipped before)": pil("PNG", compress_level=1),
            "Pillow level 1, no filter-search": pil("PNG", compress_level=1, optimize=False),
            "OpenCV level 1": opencv(".png", cv2.IMWRITE_PNG_COMPRESSION, 1),
            "OpenCV level 1, RLE strategy": opencv(
                ".png", cv2.IMWRITE_PNG_COMPRESSION, 1, cv2.IMWRITE_PNG_STRATEGY, 3
            ),
            "OpenCV level 3": opencv(".png", cv2.IMWRITE_PNG_COMPRESSION, 3),
            "fpng": optional("fpng"),
            "zlib-ng level 1, 'up' filter": optional("zlib-ng"),
        },
        "webp (RGBA cut-out, q90)": {
            "Pillow method 2 (shipped before)": pil("WEBP", quality=90, method=2),
            "Pillow method 0": pil("WEBP", quality=90, method=0),
            "OpenCV (method 4 fixed)": opencv(".webp", cv2.IMWRITE_WEBP_QUALITY, 90),
        },
        "jpg (flattened on white, q90)": {
            "Pillow (shipped before)": pil("JPEG", quality=90, optimize=False),
            "OpenCV (libjpeg-turbo)": opencv(".jpg", cv2.IMWRITE_JPEG_QUALITY, 90),
            "simplejpeg": optional("simplejpeg"),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--side", type=int, default=1536)
    args = parser.parse_args()
    rgba = cutout_pixels(args.photo, args.side)
    alpha = rgba[..., 3:].astype(np.float32) / 255
    flat = np.ascontiguousarray((rgba[..., :3] * alpha + 255 * (1 - alpha)).astype(np.uint8))
    print(
        f"input: {args.photo.name} cut out at {rgba.shape[1]}x{rgba.shape[0]}, "
        f"{args.repeat} runs each, median"
    )
    print(f"{'format / encoder':48} {'ms':>7} {'KB':>7} {'x first':>8}  pixels")
    for group, encoders in candidates().items():
        source = flat if group.startswith("jpg") else rgba
        print(group)
        base = None
        for name, encode in encoders.items():
            if encode is None:
                print(f"  {name:46} skipped (not installed)")
                continue
            encode(source)  # warm
            times, data = [], b""
            for _ in range(args.repeat):
                start = time.perf_counter()
                data = encode(source)
                times.append((time.perf_counter() - start) * 1000)
            ms = statistics.median(times)
            base = base or ms
            back = decoded(data)
            if group.startswith("png"):
                check = "identical" if np.array_equal(back, source) else "DIFFERENT"
            else:
                error = np.abs(back[..., :3].astype(np.int16) - source[..., :3]).mean()
                check = f"MAE {error:.2f}"
            print(f"  {name:46} {ms:7.1f} {len(data) / 1024:7.0f} {base / ms:8.2f}  {check}")


if __name__ == "__main__":
    main()
