"""Video: frames per second at 360p and 720p with 2 inference slots, and mask flicker.

    .venv/bin/python bench/video.py [--frames 24] [--photo path.jpg]

Runs the video plugin's service in process (the real container, u2netp cutout per frame):

- fps: one 24 fps clip alone, then two at once (the 2 slots shared), at 640x360 and 1280x720;
  the figure counts frames decoded, cut out, smoothed and encoded (WebM VP9 with alpha).
- flicker: a static shot (the photo, still, with sensor noise sigma 4 and H.264 compression)
  cut out with smoothing 0 and with the default; printed as the mean frame-to-frame change
  of alpha (0..1), over all pixels and over the soft edge only. A steady mask is near 0.
"""

import argparse
import asyncio
import time
from pathlib import Path

import numpy as np
from _harness import DEFAULT_PHOTO, bench_settings
from center_api_video.samples import flicker, make_clip, read_result
from center_api_video.schemas import VideoOptions
from center_api_video.service import VideoService
from PIL import Image

from center_api.bootstrap.runtime import build_container, build_runtime


def still(photo: Path, width: int, height: int) -> np.ndarray:
    """``photo`` (or the synthetic scene when absent) cropped to ``width`` x ``height``."""
    if not photo.exists():
        from center_api_video.samples import scene  # noqa: PLC0415

        return scene(width, height)
    image = Image.open(photo).convert("RGB")
    scale = max(width / image.width, height / image.height)
    image = image.resize((round(image.width * scale), round(image.height * scale)))
    left, top = (image.width - width) // 2, (image.height - height) // 2
    return np.asarray(image.crop((left, top, left + width, top + height)))


async def run(clips: list[bytes], options: VideoOptions) -> tuple[float, list[bytes]]:
    """Process ``clips`` at once on one server (2 slots); seconds and the results."""
    settings = bench_settings(
        slices={"video": {"enabled": True, "config": {"max_frames": 10_000}}},
        inference={"max_concurrent": 2},
    )
    container = build_container(build_runtime(settings))
    try:

        async def one(clip: bytes) -> bytes:
            async with container() as scope:
                service = await scope.get(VideoService)
                return (await service.process(clip, options)).content

        await one(clips[0])  # warm-up: model loaded, encoders initialised
        begin = time.perf_counter()
        results = await asyncio.gather(*(one(clip) for clip in clips))
        return time.perf_counter() - begin, list(results)
    finally:
        await container.close()


def main() -> None:
    """Print fps per size and concurrency, then the flicker figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    args = parser.parse_args()
    options = VideoOptions()
    print(f"{'size':>9} {'videos':>6} {'frames':>6} {'seconds':>8} {'fps':>6}")
    for width, height in ((640, 360), (1280, 720)):
        base = still(args.photo, width, height)
        clip = make_clip(frames=args.frames, fps=24, base=base, audio=True)
        for count in (1, 2):
            seconds, _ = asyncio.run(run([clip] * count, options))
            frames = args.frames * count
            size = f"{width}x{height}"
            print(f"{size:>9} {count:>6} {frames:>6} {seconds:>8.2f} {frames / seconds:>6.2f}")
    base = still(args.photo, 640, 360)
    static = make_clip(frames=args.frames, fps=24, base=base, noise=4.0, moving=False, audio=False)
    print("\nstatic shot, 640x360, mean frame-to-frame alpha change (0..1):")
    print(f"{'smoothing':>11} {'all pixels':>11} {'soft edges':>11}")
    for smoothing in (0.0, options.smoothing):
        _, (result,) = asyncio.run(run([static], VideoOptions(smoothing=smoothing)))
        frames = read_result(result)["frames"]
        every, edges = flicker(frames), flicker(frames, edges_only=True)
        print(f"{smoothing:>11} {every:>11.5f} {edges:>11.5f}")


if __name__ == "__main__":
    main()
