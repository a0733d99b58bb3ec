"""Decode off the inference slot: cutout throughput with and without it, in alternating turns.

Usage: python bench/decode_off_slot.py [--requests 16] [--side 2500] [--turns 3]

Sends ``--requests`` cutouts of one JPEG at once through the real kernel (2 slots, output at
full size so that reading the photo is a real share of the work) and prints requests per
second with the decode giving its slot to the next job (the kernel as it ships) and with the
decode holding its slot (the kernel before), turn by turn, plus the peak of overlapping model
calls (never above the slots either way).
"""

import argparse
import asyncio
import time
from collections.abc import Iterator
from contextlib import contextmanager

from _harness import DEFAULT_PHOTO, bench_settings, photo_bytes

from center_api.bootstrap.runtime import build_container, build_runtime
from center_api.kernel import imaging, scheduler
from center_api.kernel.kernel import InferenceKernel
from center_api.kernel.phases import Phase
from center_api.slices.cutout.schemas import CutoutOptions
from center_api.slices.cutout.service import CutoutService

SLOTS = 2


@contextmanager
def decode_in_slot() -> Iterator[None]:
    """The kernel before: a decode keeps the job's slot."""

    def enter_phase(phase: Phase) -> None:
        if phase != "decode":
            scheduler.enter_phase(phase)

    imaging.enter_phase = enter_phase
    try:
        yield
    finally:
        imaging.enter_phase = scheduler.enter_phase


async def burst(service: CutoutService, data: bytes, count: int) -> float:
    """Requests per second for ``count`` cutouts sent at once."""
    options = CutoutOptions(size="full", format="png")
    start = time.perf_counter()
    await asyncio.gather(*(service.segment(data, options) for _ in range(count)))
    return count / (time.perf_counter() - start)


async def main(requests: int, side: int, turns: int) -> None:
    data = photo_bytes(DEFAULT_PHOTO, side)
    settings = bench_settings(inference={"max_concurrent": SLOTS, "thread_pool_size": SLOTS})
    container = build_container(build_runtime(settings))
    try:
        async with container() as scope:
            service = await scope.get(CutoutService)
            kernel = await scope.get(InferenceKernel)
            await burst(service, data, SLOTS)  # warm-up: the session loaded
            size = f"{len(data) // 1024} KB JPEG, {side} px"
            print(f"{requests} cutouts at once, {size}, {SLOTS} slots")
            rates: dict[str, list[float]] = {"off the slot": [], "in the slot": []}
            for turn in range(1, turns + 1):
                rates["off the slot"].append(await burst(service, data, requests))
                with decode_in_slot():
                    rates["in the slot"].append(await burst(service, data, requests))
                print(
                    f"turn {turn}: decode off the slot {rates['off the slot'][-1]:.2f} req/s, "
                    f"in the slot {rates['in the slot'][-1]:.2f} req/s"
                )
            off, held = (sum(r) / len(r) for r in rates.values())
            print(
                f"mean: off the slot {off:.2f} req/s, in the slot {held:.2f} req/s "
                f"(x{off / held:.2f}); peak overlapping model calls "
                f"{kernel.sessions.stats.peak} (slots: {SLOTS})"
            )
    finally:
        await container.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--side", type=int, default=2500)
    parser.add_argument("--turns", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.requests, args.side, args.turns))
