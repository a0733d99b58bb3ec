"""CPU seconds per cutout request, per segmentation model: what a cheaper model run saves.

``python bench/cutout_cpu.py [--models u2netp,u2netp-int8] [--size 1536] [--requests 12]``

Runs the cutout slice in-process (the real container: decode, inference slot, PNG encode), one
request at a time so the process's CPU time is the request's, the models taking turns request by
request so that the machine's load falls on each alike. Prints the median CPU seconds and wall
milliseconds per request.
"""

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DEFAULT_PHOTO, photo_bytes, with_service

from center_api.slices.cutout.schemas import CutoutOptions
from center_api.slices.cutout.service import CutoutService


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--models", default="u2netp,u2netp-int8")
    parser.add_argument("--size", type=int, default=1536, help="the photo's long side")
    parser.add_argument("--requests", type=int, default=12, help="per model")
    parser.add_argument("--photo", type=Path, default=DEFAULT_PHOTO)
    args = parser.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    data = photo_bytes(args.photo, args.size)

    async def run(service: CutoutService) -> dict[str, list[tuple[float, float]]]:
        samples: dict[str, list[tuple[float, float]]] = {m: [] for m in models}
        for turn in range(args.requests + 1):
            for model in models:
                cpu, wall = time.process_time(), time.perf_counter()
                await service.segment(data, CutoutOptions(model=model))
                if turn:  # the first turn loads the session
                    samples[model].append((time.process_time() - cpu, time.perf_counter() - wall))
        return samples

    samples = with_service(CutoutService, run)
    print(f"cutout of a {args.size} px photo, {args.requests} requests per model, one at a time")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'model':14} {'CPU s/request':>14} {'wall ms':>8}")
    for model, runs in samples.items():
        cpu = statistics.median(c for c, _ in runs)
        wall = 1000 * statistics.median(w for _, w in runs)
        print(f"{model:14} {cpu:14.3f} {wall:8.0f}")


if __name__ == "__main__":
    main()
