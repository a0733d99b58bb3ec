"""Load on a real server: throughput, latency percentiles and memory at several concurrencies.

Usage: python bench/cutout_load.py [--requests 24] [--photo path.jpg]

Starts `center-api serve` on a free loopback port, warms it up, then for a ~512 px and a
~1500 px photo drives it at concurrency 1, 2, 4 and 8. Prints req/s, p50/p95/p99 latency,
peak RSS, and the pure `session.run` time of the model on this machine (the floor).
"""

import argparse
import asyncio
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
from _harness import REPO, photo_bytes
from load import PeakRss

from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import SessionCache
from center_api.testing.cluster import rss_mb, start_node

SHARED_PHOTO = REPO.parent / "shared/testdata/cutout/images/coco_horse00_000000281447.jpg"


async def drive(url: str, data: bytes, concurrency: int, total: int) -> tuple[list[float], float]:
    """Send ``total`` requests with ``concurrency`` in flight; return latencies and wall time."""
    latencies: list[float] = []
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(total):
        queue.put_nowait(i)

    async def worker(client: httpx.AsyncClient) -> None:
        while not queue.empty():
            queue.get_nowait()
            start = time.perf_counter()
            response = await client.post(
                url,
                files={"file": ("p.jpg", data, "image/jpeg")},
                headers={"Cache-Control": "no-cache"},  # the same photo again: real work each time
            )
            response.raise_for_status()
            latencies.append(time.perf_counter() - start)

    async with httpx.AsyncClient(timeout=120) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return latencies, time.perf_counter() - start


def session_floor(runs: int = 20) -> float:
    """Median `session.run` seconds of u2netp at its input size, in this process."""
    cache = SessionCache(
        ModelStore.from_directory(REPO / "model_store"), InferenceSettings(), Metrics()
    )
    model = cache.get("u2netp")
    feed = {model.input_names[0]: np.random.rand(1, 3, 320, 320).astype(np.float32)}
    model.run(feed)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        model.run(feed)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def start_server(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`center-api serve` on a free port, waiting until it answers."""
    env = {
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
        "MODEL_STORE_DIR": str(REPO / "model_store"),
        "LOG_LEVEL": "WARNING",
        "CENTER_API_CONFIG": str(REPO / "litestar.toml"),
    }
    node = start_node("all", env, workdir / "server.log")
    assert node.base_url is not None
    return node.process, node.base_url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=24, help="requests per level")
    parser.add_argument("--photo", type=Path, default=SHARED_PHOTO)
    args = parser.parse_args()
    floor = session_floor()
    print(f"u2netp session.run floor (320x320, this machine): {floor * 1000:.1f} ms")
    with tempfile.TemporaryDirectory() as tmp:
        process, base = start_server(Path(tmp))
        url = f"{base}/api/v1/cutout/segment"
        try:
            photos = {512: photo_bytes(args.photo, 512), 1500: photo_bytes(args.photo, 1500)}
            asyncio.run(drive(url, photos[1500], 2, 4))  # warm-up: model loaded, pools ready
            idle = rss_mb(process.pid)
            print(f"idle RSS after warm-up: {idle:.0f} MB\n")
            print(
                f"{'photo':>6} {'conc':>4} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} "
                f"{'p99 ms':>8} {'peak RSS':>9}"
            )
            for side, data in photos.items():
                for concurrency in (1, 2, 4, 8):
                    with PeakRss(process.pid) as peak:
                        latencies, wall = asyncio.run(drive(url, data, concurrency, args.requests))
                    ms = np.array(latencies) * 1000
                    print(
                        f"{side:>6} {concurrency:>4} {len(ms) / wall:>7.2f} "
                        f"{np.percentile(ms, 50):>8.0f} {np.percentile(ms, 95):>8.0f} "
                        f"{np.percentile(ms, 99):>8.0f} {peak.peak:>7.0f}MB"
                    )
            single, _ = asyncio.run(drive(url, photos[1500], 1, 10))
            median = float(np.median(single))
            outside = max(0.0, median - floor) / median
            print(
                f"\n1500 px at concurrency 1: median {median * 1000:.0f} ms, of which "
                f"{outside:.0%} is outside session.run"
            )
        finally:
            process.terminate()
            process.wait(timeout=30)


if __name__ == "__main__":
    main()
