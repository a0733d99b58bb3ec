"""A hostile-input corpus, generated here, thrown at a real server: 4xx or a correct result,
never a 5xx, and the server's memory stays bounded."""

import io
import signal
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from PIL import Image

from center_api.testing.cluster import rss_mb
from tests.conftest import decode_png, subject_on_background
from tests.support.server import start_server

SEGMENT = "/api/v1/cutout/segment"
TASKS = "/api/v1/tasks"
MAX_REQUEST_BYTES = 2_000_000
RSS_GROWTH_LIMIT_MB = 250


@dataclass
class Case:
    """One hostile request and the statuses that are right for it."""

    name: str
    expect: set[int]
    files: Any = None
    data: dict[str, str] | None = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    path: str = SEGMENT
    check: Callable[[httpx.Response], None] | None = None


def _save(image: Image.Image, fmt: str, **kwargs: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **kwargs)
    return out.getvalue()


def _photo(size: tuple[int, int] = (160, 120)) -> Image.Image:
    return Image.fromarray(subject_on_background(size)[0])


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` (a decompression bomb)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_with_dimensions(width: int, height: int) -> bytes:
    """A real small JPEG whose SOF0 header is patched to claim another size."""
    data = bytearray(_save(_photo((64, 48)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def gif_with_dimensions(width: int, height: int) -> bytes:
    data = bytearray(_save(_photo((32, 24)).convert("P"), "GIF"))
    data[6:10] = struct.pack("<HH", width, height)
    return bytes(data)


def animated(fmt: str) -> bytes:
    frames = [_photo().rotate(angle) for angle in (0, 10, 20)]
    return _save(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)


def exif_rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    return _save(_photo((160, 120)), "JPEG", exif=exif.tobytes())


def palette_with_trns() -> bytes:
    image = _photo().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    return _save(image, "PNG", transparency=0)


def sixteen_bit_png() -> bytes:
    grey = (np.linspace(0, 65535, 160 * 120).reshape(120, 160)).astype(np.uint16)
    return _save(Image.fromarray(grey), "PNG")  # mode I;16


def _expect_size(width: int, height: int) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        pixels = decode_png(response.content)
        assert pixels.shape[:2] == (height, width), pixels.shape

    return check


def _file(data: bytes, name: str = "x.png", ctype: str = "image/png") -> dict[str, Any]:
    return {"file": (name, data, ctype)}


def image_cases() -> list[Case]:
    png = _save(_photo(), "PNG")
    jpeg = _save(_photo(), "JPEG")
    webp = _save(_photo(), "WEBP")
    ok = {200}
    bad = {422}
    return [
        Case("zero bytes", bad, _file(b"")),
        Case("text renamed .png", bad, _file(b"hello, I am not a picture\n" * 20)),
        Case("truncated jpeg", bad, _file(jpeg[: len(jpeg) // 2], "x.jpg", "image/jpeg")),
        Case("truncated png", bad, _file(png[: len(png) // 2])),
        Case("truncated webp", bad, _file(webp[: len(webp) // 2], "x.webp", "image/webp")),
        Case("png header only", bad, _file(png[:33])),
        Case("png bomb 30000x30000", bad, _file(png_header_only(30000, 30000))),
        Case("png 2^31-1 wide", bad, _file(png_header_only(2**31 - 1, 1))),
        Case("png 0x0", bad, _file(png_header_only(0, 0))),
        Case("jpeg header 65500x65500", bad, _file(jpeg_with_dimensions(65500, 65500))),
        Case("gif header 65535x65535", bad, _file(gif_with_dimensions(65535, 65535))),
        Case("animated gif", ok, _file(animated("GIF"), "a.gif", "image/gif")),
        Case("animated webp", ok, _file(animated("WEBP"), "a.webp", "image/webp")),
        Case("cmyk jpeg", ok, _file(_save(_photo().convert("CMYK"), "JPEG"), "c.jpg")),
        Case("16-bit png", ok, _file(sixteen_bit_png())),
        Case("palette + tRNS png", ok, _file(palette_with_trns())),
        Case("grey + alpha png", ok, _file(_save(_photo().convert("LA"), "PNG"))),
        Case("exif rotated jpeg", ok, _file(exif_rotated_jpeg()), check=_expect_size(120, 160)),
        Case("tiff", ok, _file(_save(_photo(), "TIFF"), "x.tiff", "image/tiff")),
        Case("bmp", ok, _file(_save(_photo(), "BMP"), "x.bmp", "image/bmp")),
        Case("1x1 png", ok, _file(_save(Image.new("RGB", (1, 1)), "PNG"))),
        Case("svg", {415}, _file(b"<svg xmlns='http://www.w3.org/2000/svg'/>", "x.svg")),
        Case("svg with xml prolog", {415}, _file(b"<?xml version='1.0'?><svg/>", "x.svg")),
        Case("heic", {415}, _file(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00" + b"\x00" * 64)),
        Case("valid png, wrong part type", ok, _file(png, "x.txt", "text/plain")),
    ]


def request_cases() -> list[Case]:
    png = _save(_photo(), "PNG")
    two_files = [("file", ("a.png", png, "image/png")), ("file", ("b.png", png, "image/png"))]
    return [
        Case("two files in one multipart", {400, 422}, two_files),
        Case("file and image_url", {422}, _file(png), data={"image_url": "https://a.example/x"}),
        Case("no image at all", {422}, _fields(format="png")),
        # urlencoded is a body kind of its own (http/bodies.py): here it carries no image
        Case("form-urlencoded without an image", {422}, data={"format": "png"}),
        Case("json body", {400, 415, 422}, content=b'{"file": 1}', headers=_ct("application/json")),
        Case("text body", {400, 415, 422}, content=b"hello", headers=_ct("text/plain")),
        Case("no content type", {400, 415, 422}, content=png),
        Case("malformed multipart", {400, 422}, content=b"--x\r\nbroken", headers=_mp("x")),
        Case("oversized body", {413}, _file(b"\x00" * (MAX_REQUEST_BYTES + 1000))),
        Case("image_url to loopback", {422}, _fields(image_url="http://127.0.0.1:1/x.png")),
        Case("image_url file scheme", {422}, _fields(image_url="file:///etc/passwd")),
        Case("bad base64", {422}, _fields(image_file_b64="!!!not base64!!!")),
        Case("unknown option name", {422}, _file(png), data={"colour": "red"}),
        Case("out-of-range enum", {422}, _file(png), data={"format": "gif"}),
        Case("wrong type bool", {422}, _file(png), data={"crop": "perhaps"}),
        Case("margin spec injection", {422}, _file(png), data={"crop_margin": "1;DROP"}),
        Case("huge roi numbers", {422}, _file(png), data={"roi": "1e308,1e308,-1e308,nan"}),
        *task_cases(png),
    ]


def task_cases(png: bytes) -> list[Case]:
    def task(options: str, **extra: str) -> dict[str, str]:
        return {"tool": "cutout", "options": options, **extra}

    return [
        Case("task malformed json", {422}, _file(png), task("{not json"), path=TASKS),
        Case("task options a list", {422}, _file(png), task("[1, 2]"), path=TASKS),
        Case("task unknown option", {422}, _file(png), task('{"bogus": 1}'), path=TASKS),
        Case("task out-of-range option", {422}, _file(png), task('{"size": 7}'), path=TASKS),
        Case(
            "task priority 10^9", {422}, _file(png), task("{}", priority="1000000000"), path=TASKS
        ),
        Case("task negative timeout", {422}, _file(png), task("{}", timeout_s="-1"), path=TASKS),
        Case("task unknown tool", {404, 422}, _file(png), {"tool": "nope"}, path=TASKS),
        Case("task deeply nested", {422}, _file(png), task("[" * 5000 + "]" * 5000), path=TASKS),
    ]


def _fields(**values: str) -> dict[str, Any]:
    return {name: (None, value) for name, value in values.items()}


def _ct(value: str) -> dict[str, str]:
    return {"content-type": value}


def _mp(boundary: str) -> dict[str, str]:
    return {"content-type": f"multipart/form-data; boundary={boundary}"}


@pytest.fixture(scope="module")
def real_server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Any]:
    workdir = tmp_path_factory.mktemp("hostile")
    env = {"CENTER_API__SERVER__MAX_REQUEST_BYTES": str(MAX_REQUEST_BYTES)}
    process, base = start_server(workdir, model_dir, workdir / "server.log", env)
    try:
        yield process, base
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


def _send(client: httpx.Client, case: Case) -> httpx.Response:
    return client.post(
        case.path, files=case.files, data=case.data, content=case.content, headers=case.headers
    )


def test_hostile_corpus_gets_4xx_or_a_result_never_5xx_and_memory_stays_bounded(real_server):
    process, base = real_server
    cases = image_cases() + request_cases()
    with httpx.Client(base_url=base, timeout=60) as client:
        # Warm up (model load) before the baseline, so RSS growth means leaks, not the model.
        for case in image_cases()[11:13]:
            assert _send(client, case).status_code == 200
        before = rss_mb(process.pid)
        server_errors, wrong = [], []
        for _round in range(2):  # twice: growth between rounds would be a leak
            for case in cases:
                response = _send(client, case)
                if response.status_code >= 500:
                    server_errors.append((case.name, response.status_code, response.text[:200]))
                elif response.status_code not in case.expect:
                    wrong.append((case.name, response.status_code, response.text[:200]))
                elif response.status_code >= 400:
                    body = response.json()
                    assert body["success"] is False and body["error"]["code"], case.name
                    assert body["request_id"] == response.headers["x-request-id"]
                elif case.check is not None:
                    case.check(response)
        after = rss_mb(process.pid)
        assert client.get("/api/v1/health").json()["ready"] is True
    print(
        f"\nhostile corpus: {2 * len(cases)} inputs tried ({len(cases)} distinct), "
        f"{len(server_errors)} server errors, RSS {before:.0f} MB -> {after:.0f} MB"
    )
    assert server_errors == []
    assert wrong == [], "\n".join(map(str, wrong))
    assert after - before < RSS_GROWTH_LIMIT_MB
