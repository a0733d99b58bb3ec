"""Text erase quality: boxes found, boxes still found after erasing, change outside the mask.

Usage: python bench/text_erase.py [--shared ../shared]

Runs the text_erase plugin (must be pip-installed) through the real container on every photo in
``<shared>/testdata/text``. Per image: the detector's boxes; the boxes it still finds on the
erased result (should drop to near zero); the share of the image masked; the mean and maximum
absolute change of pixels outside the mask (should be 0); and milliseconds per erase.
"""

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

import msgspec
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import REPO, bench_settings

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.kernel.imaging import decode_image

try:
    from center_api_text_erase import SLICE
    from center_api_text_erase.schemas import DetectOptions, EraseOptions
    from center_api_text_erase.service import TextEraseService
except ImportError:  # pragma: no cover - the bench needs the plugin
    sys.exit("pip install -e plugins/center-api-text-erase first")


async def measure(service: TextEraseService, name: str, data: bytes) -> dict[str, Any]:
    limits = bench_settings().images
    before = msgspec.json.decode((await service.detect(data, DetectOptions())).content)
    start = time.perf_counter()
    erased = await service.erase(data, EraseOptions())
    ms = (time.perf_counter() - start) * 1000
    mask = await service.erase(data, EraseOptions(output="mask"))
    after = msgspec.json.decode((await service.detect(erased.content, DetectOptions())).content)
    original = decode_image(data, limits).pixels[..., :3].astype(np.int16)
    result = decode_image(erased.content, limits).pixels[..., :3].astype(np.int16)
    holes = decode_image(mask.content, limits).pixels[..., 0] > 0
    outside = np.abs(result - original)[~holes]
    return {
        "image": name,
        "size": f"{original.shape[1]}x{original.shape[0]}",
        "before": before["count"],
        "after": after["count"],
        "masked": float(holes.mean()),
        "mean_out": float(outside.mean()) if outside.size else 0.0,
        "max_out": int(outside.max()) if outside.size else 0,
        "ms": ms,
    }


async def run(photos: dict[str, bytes]) -> list[dict[str, Any]]:
    settings = bench_settings(slices={"text_erase": {"enabled": True}})
    container = build_container(build_runtime(settings))
    rows = []
    try:
        for name, data in photos.items():
            async with container() as scope:
                rows.append(await measure(await scope.get(TextEraseService), name, data))
    finally:
        await container.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    folder = parser.parse_args().shared / "testdata" / "text"
    if not folder.is_dir():
        sys.exit(f"no test photos at {folder}")
    print(f"text_erase {SLICE.title}: model {SLICE.models[0].id}, default options")
    photos = {
        p.name: p.read_bytes()
        for p in sorted(folder.iterdir())
        if p.suffix.lower() in {".jpg", ".jpeg", ".png"}
    }
    rows = asyncio.run(run(photos))
    header = f"{'image':36} {'size':>10} {'boxes':>6} {'after':>6} {'masked':>7} "
    print(header + f"{'mean|d| out':>12} {'max|d| out':>11} {'ms':>7}")
    for r in rows:
        print(
            f"{r['image']:36} {r['size']:>10} {r['before']:>6} {r['after']:>6} "
            f"{r['masked']:>7.1%} {r['mean_out']:>12.3f} {r['max_out']:>11} {r['ms']:>7.0f}"
        )
    total_before = sum(r["before"] for r in rows)
    total_after = sum(r["after"] for r in rows)
    print(f"{'TOTAL':36} {'':>10} {total_before:>6} {total_after:>6}")


if __name__ == "__main__":
    main()
