"""One encode function: every PNG path gives the same pixels; encoding happens off the slots."""

import asyncio
import io
import threading

import numpy as np
import pytest
from PIL import Image

from center_api.core.metrics import Metrics
from center_api.core.settings import ImageSettings, InferenceSettings
from center_api.kernel import imaging
from center_api.kernel.imaging import encode_image
from center_api.kernel.scheduler import InferenceScheduler, leave_slot, reenter_slot


def pixels(channels: int) -> np.ndarray:
    rng = np.random.default_rng(channels)
    shape = (123, 257) if channels == 1 else (123, 257, channels)
    image = rng.integers(0, 256, shape, dtype=np.uint8)
    if channels == 4:
        image[:40, :, 3] = 0  # transparent rows, as cut-outs have
        image[:40, :, :3] = 0
    return image


def decode(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image)


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("level", [0, 1, 6])
def test_every_png_encoder_gives_identical_pixels(channels, level):
    source = pixels(channels)
    data = encode_image(source, "png", ImageSettings(png_compress_level=level))
    assert data.startswith(b"\x89PNG")
    assert np.array_equal(decode(data), source)


def test_the_fast_png_writer_is_the_one_used_and_matches_pillow():
    assert imaging._fpng is not None
    source = pixels(4)
    fast = encode_image(source, "png", ImageSettings(png_compress_level=1))
    out = io.BytesIO()
    Image.fromarray(source).save(out, format="PNG", compress_level=1)
    assert fast != out.getvalue()  # a different writer ...
    assert np.array_equal(decode(fast), decode(out.getvalue()))  # ... the same pixels


def test_jpeg_matches_pillow_closely_and_refuses_alpha():
    source = np.repeat(np.linspace(0, 255, 256, dtype=np.uint8)[None, :, None], 3, axis=2)
    source = np.ascontiguousarray(np.repeat(source, 64, axis=0))
    ours = decode(encode_image(source, "jpg", ImageSettings(jpeg_quality=90))).astype(int)
    out = io.BytesIO()
    Image.fromarray(source).save(out, format="JPEG", quality=90)
    assert np.abs(ours - decode(out.getvalue())).mean() < 1.0
    assert np.abs(ours - source).mean() < 2.0
    grey = decode(encode_image(source[..., 0].copy(), "jpg", ImageSettings()))
    assert grey.shape == source.shape[:2]
    with pytest.raises(ValueError, match="alpha"):
        encode_image(pixels(4), "jpg", ImageSettings())


async def test_a_job_that_encodes_gives_its_slot_to_the_next_one():
    sched = InferenceScheduler(InferenceSettings(max_concurrent=1), Metrics())
    encoding, second_ran = threading.Event(), threading.Event()

    def first() -> str:
        leave_slot()  # as encode_image does
        encoding.set()
        assert second_ran.wait(5), "the next job never started while this one encoded"
        return "first"

    one = asyncio.ensure_future(sched.run(first))
    await asyncio.get_running_loop().run_in_executor(None, encoding.wait)
    assert await sched.run(second_ran.set) is None
    assert await one == "first"
    assert (sched.active, sched.memory_mb) == (0, 0.0)


async def test_model_work_after_leaving_waits_for_a_slot_again():
    sched = InferenceScheduler(InferenceSettings(max_concurrent=1), Metrics())
    lock, active, peak = threading.Lock(), [0], [0]
    release = threading.Event()

    def model_work() -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        release.wait(0.05)
        with lock:
            active[0] -= 1

    def leaves_then_infers() -> None:
        leave_slot()
        reenter_slot()  # as a model call does
        model_work()

    await asyncio.gather(*(sched.run(leaves_then_infers) for _ in range(4)))
    assert peak[0] == 1
    assert sched.active == 0
