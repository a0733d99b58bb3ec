"""Memory of one large request against a real server: refused from the header, or within 1 GB.

A flat 7680x5170 PNG is about 125 KB on the wire and 39.7 MP in memory; before the pixel paths
were made lean, one background replacement of it added about 4 GB. The server here runs with
the project's default configuration, so these tests follow the default megapixel limit.
"""

import io
import math
import signal
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest
from PIL import Image

from center_api.testing.cluster import rss_mb
from center_api.testing.memory import rss_growth
from tests.support.server import start_server

pytestmark = pytest.mark.e2e

BUDGET_MB = 1024  # what one request may add at the largest accepted size
REFUSAL_MB = 100  # a request refused from its header decodes nothing
TINY_BUT_HUGE = (7680, 5170)
CUTOUT = "/api/v1/cutout/segment"
COLOR = "/api/v1/background-replace/color"


class Server:
    """The running server, its idle RSS after warm-up, and its megapixel limit."""

    def __init__(self, process: Any, base: str) -> None:
        self.process, self.base = process, base
        self.idle_mb = 0.0
        self.max_megapixels = 0.0

    def post(self, path: str, png: bytes, **fields: str) -> httpx.Response:
        return httpx.post(
            self.base + path,
            data={"size": "full", **fields},
            files={"file": ("image.png", png, "image/png")},
            timeout=120,
        )


def png(pixels: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(pixels).save(out, format="PNG", compress_level=1)
    return out.getvalue()


def flat(size: tuple[int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(out, format="PNG")
    return out.getvalue()


def header_only_png(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with almost no pixel data behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )


def subject_photo(size: tuple[int, int]) -> bytes:
    """A cheap large photo: a light background with an orange subject (soft, anti-aliased)."""
    width, height = size
    pixels = np.full((height, width, 3), 225, np.uint8)
    centre, axes = (width // 2, height // 2), (width // 8, height // 5)
    cv2.ellipse(pixels, centre, axes, 0, 0, 360, (230, 110, 30), -1, cv2.LINE_AA)
    return png(pixels)


def largest_size(max_megapixels: float) -> tuple[int, int]:
    """The largest 3:2 image the limit accepts."""
    width = math.floor(math.sqrt(max_megapixels * 1e6 * 1.5))
    return width, math.floor(max_megapixels * 1e6 / width)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("memory")
    process, base = start_server(workdir, model_dir, workdir / "server.log")
    try:
        served = Server(process, base)
        small = subject_photo((480, 320))
        for path in (CUTOUT, COLOR):  # models loaded, pools allocated
            assert served.post(path, small).status_code == 200
        # The limit in force, as the server states it when it refuses a bigger header.
        refused = served.post(CUTOUT, header_only_png(30000, 30000))
        assert refused.status_code == 422, refused.text
        served.max_megapixels = float(refused.json()["error"]["details"]["max_megapixels"])
        served.idle_mb = rss_mb(process.pid)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_a_tiny_but_huge_png_is_refused_from_its_header_or_processed_within_budget(server):
    data = flat(TINY_BUT_HUGE)
    assert len(data) < 200_000
    with rss_growth(server.process.pid) as rss:
        response = server.post(COLOR, data)
    megapixels = TINY_BUT_HUGE[0] * TINY_BUT_HUGE[1] / 1e6
    print(f"\n{megapixels:.1f} MP flat PNG: {response.status_code}, +{rss.growth_mb:.0f} MB")
    if megapixels > server.max_megapixels:
        assert response.status_code == 422
        assert response.json()["error"]["code"] == "RESOLUTION_TOO_HIGH"
        assert rss.growth_mb < REFUSAL_MB
    else:
        assert response.status_code == 200, response.text
        assert rss.peak_mb - server.idle_mb <= BUDGET_MB


@pytest.mark.parametrize("path", [CUTOUT, COLOR])
def test_the_largest_accepted_image_at_full_size_adds_at_most_1_gb(server, path):
    size = largest_size(server.max_megapixels)
    photo = subject_photo(size)
    with rss_growth(server.process.pid) as rss:
        response = server.post(path, photo)
    added = rss.peak_mb - server.idle_mb
    print(f"\n{path} {size[0]}x{size[1]}: {response.status_code}, +{added:.0f} MB over idle")
    assert response.status_code == 200, response.text
    assert (int(response.headers["x-width"]), int(response.headers["x-height"])) == size
    assert added <= BUDGET_MB


def test_memory_is_given_back_after_big_images_and_rejected_uploads(server):
    """Runs after the big requests above: the heap they freed went back to the system."""
    junk = np.random.default_rng(7).integers(0, 256, 24 * 1024 * 1024, np.uint8).tobytes()
    for _ in range(8):  # 24 MiB uploads that are not images: spooled, read, refused
        refused = server.post(CUTOUT, junk)
        assert refused.status_code == 422, refused.text
    settled = rss_mb(server.process.pid)
    print(f"\nidle {server.idle_mb:.0f} MB, after the burst {settled:.0f} MB")
    assert settled - server.idle_mb < 60  # glibc left alone: about +70
