"""Text erase quality: boxes found, boxes still found after erasing, share of the image erased.

Usage: python bench/text_erase.py [--shared ../shared]

Runs the text_erase plugin (must be pip-installed) through the real container on every photo in
``<shared>/testdata/text``, once per mask kind (strokes: the letters' pixels, the default;
boxes: whole detection boxes). Per image and kind: the boxes the detector still finds on the
erased result (should drop to near zero; fewer is less ghost text); the share of the image
erased (repainted); the maximum change of pixels outside the mask (should be 0); ms per erase.
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


MASKS = ("strokes", "boxes")


async def measure(service: TextEraseService, name: str, data: bytes) -> dict[str, Any]:
    limits = bench_settings().images
    before = msgspec.json.decode((await service.detect(data, DetectOptions())).content)
    original = decode_image(data, limits).pixels[..., :3].astype(np.int16)
    row: dict[str, Any] = {
        "image": name,
        "size": f"{original.shape[1]}x{original.shape[0]}",
        "before": before["count"],
    }
    for kind in MASKS:
        start = time.perf_counter()
        erased = await service.erase(data, EraseOptions(mask=kind))
        row[f"ms_{kind}"] = (time.perf_counter() - start) * 1000
        mask = await service.erase(data, EraseOptions(mask=kind, output="mask"))
        again = await service.detect(erased.content, DetectOptions())
        row[f"after_{kind}"] = msgspec.json.decode(again.content)["count"]
        result = decode_image(erased.content, limits).pixels[..., :3].astype(np.int16)
        holes = decode_image(mask.content, limits).pixels[..., 0] > 0
        outside = np.abs(result - original)[~holes]
        row[f"erased_{kind}"] = float(holes.mean())
        row[f"max_out_{kind}"] = int(outside.max()) if outside.size else 0
    return row


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
    header = f"{'image':34} {'size':>10} {'boxes':>6}"
    for kind in MASKS:
        header += f" | {kind + ' after':>13} {'erased':>7} {'max|d|out':>9} {'ms':>6}"
    print(header)
    for r in rows:
        line = f"{r['image']:34} {r['size']:>10} {r['before']:>6}"
        for kind in MASKS:
            line += (
                f" | {r['after_' + kind]:>13} {r['erased_' + kind]:>7.1%} "
                f"{r['max_out_' + kind]:>9} {r['ms_' + kind]:>6.0f}"
            )
        print(line)
    total = f"{'TOTAL / mean / max':34} {'':>10} {sum(r['before'] for r in rows):>6}"
    for kind in MASKS:
        after = sum(r["after_" + kind] for r in rows)
        erased = [r["erased_" + kind] for r in rows]
        total += f" | {after:>13} {np.mean(erased):>7.1%} {'max':>9} {max(erased):>6.1%}"
    print(total)


if __name__ == "__main__":
    main()
