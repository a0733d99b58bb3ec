"""Every slice under load on a real server, plus the result cache's hit against its miss.

``python bench/slices.py [--sizes 512 1536] [--concurrency 1 2 8] [--only cutout,tasks]``

One `center-api serve` (default settings, the text-erase plugin enabled) is warmed up on each
route, then driven per case, photo size and concurrency. Every request sends
``Cache-Control: no-cache``, so the figures are of real work; the cache line compares hits and
misses of the same 1536 px cutout. Prints req/s, p50/p99 latency (ms) and the server's peak RSS.
Cases whose model or route is not installed here are listed as skipped.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DEFAULT_PHOTO, REPO, photo_bytes
from load import Request, form_post, measure

from center_api.testing.cluster import Node, rss_mb, start_node

SHARED = REPO.parent / "shared/testdata"
FACE = SHARED / "faces/fr_obama.jpg"
TEXT = SHARED / "text/easyocr_english.png"
BACKGROUND = SHARED / "cutout/images/gc_flower.jpg"
NO_CACHE = {"Cache-Control": "no-cache"}


@dataclass
class Case:
    """One route and its form; ``photo`` is the input it is fed (resized per size)."""

    name: str
    path: str
    fields: dict[str, str] = field(default_factory=dict)
    photo: Path = DEFAULT_PHOTO
    needs: str = ""  # a model id the case needs installed
    extra_file: str = ""  # a second upload: the form field that carries BACKGROUND

    def request(self, base: str, side: int) -> Request:
        files = {"file": ("photo.jpg", photo_bytes(self.photo, side), "image/jpeg")}
        if self.extra_file:
            files[self.extra_file] = ("bg.jpg", photo_bytes(BACKGROUND, side), "image/jpeg")
        return form_post(base + self.path, files, self.fields, NO_CACHE)


BG = "/api/v1/background-replace"
# Cut out, then onto navy: two steps, each its own kernel job.
PIPELINE = (
    '[{"tool": "cutout"}, '
    '{"tool": "background_replace", "replace": {"mode": "color", "color": "navy"}}]'
)

CASES = [
    Case("cutout", "/api/v1/cutout/segment"),
    Case("bg color", f"{BG}/color", {"color": "id_blue"}),
    Case("bg gradient", f"{BG}/gradient", {"start_color": "white", "end_color": "navy"}),
    Case("bg image", f"{BG}/image", {"fit": "fill"}, extra_file="background_file"),
    Case("bg blur", f"{BG}/blur", {"radius": "25"}),
    Case("bg id-photo", f"{BG}/id-photo", {"photo_size": "passport"}, photo=FACE),
    Case("face classic", "/api/v1/face-enhance/enhance", {"engine": "classic"}, photo=FACE),
    Case("face sr", "/api/v1/face-enhance/enhance", {"engine": "sr"}, FACE, "realesr-general-x4v3"),
    Case("text erase", "/api/v1/text-erase/erase", photo=TEXT),
    Case("pipeline", "/api/v1/process/image", {"steps": PIPELINE}),
]


def task_request(base: str, side: int) -> Request:
    """Submit a cutout task, follow it to COMPLETED, download the result."""
    data = photo_bytes(DEFAULT_PHOTO, side)

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        files = {"file": ("p.jpg", data, "image/jpeg"), "tool": (None, "cutout")}
        submitted = await client.post(f"{base}/api/v1/tasks", files=files)
        if submitted.status_code != 202:
            return submitted
        task = f"{base}/api/v1/tasks/{submitted.json()['id']}"
        while True:
            view = await client.get(task)
            if view.status_code != 200:
                return view
            if view.json()["status"] in TERMINAL:
                break
            await asyncio.sleep(0.1)
        status = view.json()["status"]
        if status != "COMPLETED":
            return httpx.Response(500)
        return await client.get(f"{task}/result")

    return send


TERMINAL = {"COMPLETED", "FAILED", "CANCELLED"}


def start(workdir: Path, **env: str) -> Node:
    """A server with default settings on a fresh SQLite database."""
    return start_node(
        "all",
        {
            "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/bench.db",
            "MODEL_STORE_DIR": str(REPO / "model_store"),
            "LOG_LEVEL": "WARNING",
            "CENTER_API_CONFIG": str(REPO / "litestar.toml"),
            "CENTER_API__SLICES__TEXT_ERASE__ENABLED": "true",
            # Tasks carry no Cache-Control: their repeats of one photo must run too.
            "CENTER_API__CACHE__TASKS": "false",
            "CENTER_API__RATE_LIMIT__ENABLED": "false",  # the tasks case polls
            "CENTER_API__TASKS__RESULTS_DIR": str(workdir / "results"),
            **env,
        },
        workdir / "server.log",
    )


def cache_line(base: str, pid: int, runs: int = 5) -> str:
    """Median latency of a 1536 px cutout recomputed (no-cache) and answered from the cache."""
    data = photo_bytes(DEFAULT_PHOTO, 1536)
    url = f"{base}/api/v1/cutout/segment"
    files = {"file": ("p.jpg", data, "image/jpeg")}
    times: dict[str, list[float]] = {"MISS": [], "HIT": []}
    with httpx.Client(timeout=300) as client:
        for headers in [NO_CACHE] * runs + [{}] * runs:
            begin = time.perf_counter()
            answer = client.post(url, files=files, headers=headers)
            times[answer.headers.get("x-cache", "?")].append(time.perf_counter() - begin)
    miss, hit = statistics.median(times["MISS"]), statistics.median(times["HIT"])
    return (
        f"cache, cutout 1536 px, c=1: miss {miss * 1000:.0f} ms, hit {hit * 1000:.1f} ms, "
        f"hit is {miss / hit:.0f}x faster (RSS {rss_mb(pid):.0f} MB)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[512, 1536])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 2, 8])
    parser.add_argument("--only", default="", help="comma-separated case names (or 'tasks')")
    parser.add_argument("--min-requests", type=int, default=2, help="per level (>= concurrency)")
    args = parser.parse_args()
    chosen = {name.strip() for name in args.only.split(",") if name.strip()}
    installed = set(os.listdir(REPO / "model_store"))
    print(f"cores: {os.cpu_count()}, load average before: {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        node = start(Path(tmp))
        base, pid = node.base_url or "", node.process.pid
        try:
            print(
                f"{'case':14} {'size':>5} {'conc':>4} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8}"
                f" {'peak RSS':>10} {'CPU s/req':>9}"
            )
            requests = [(c.name, c.request, c.needs) for c in CASES]
            requests.append(("tasks (cutout)", task_request, ""))
            for name, build, needs in requests:
                if chosen and name not in chosen and name.split()[0] not in chosen:
                    continue
                if needs and not any(f.startswith(needs) for f in installed):
                    print(f"{name:14} skipped: model {needs} not installed")
                    continue
                for side in args.sizes:
                    request = build(base, side)
                    measure(request, 1, 1, pid)  # warm-up: the model loaded
                    for concurrency in args.concurrency:
                        total = max(args.min_requests, concurrency)
                        level = measure(request, concurrency, total, pid)
                        print(f"{name:14} {side:>5} {concurrency:>4} {level.row()}", flush=True)
            if not chosen or "cache" in chosen:
                print(cache_line(base, pid))
            print(f"load average after: {os.getloadavg()[0]:.1f}")
        finally:
            node.stop(timeout_s=30)


if __name__ == "__main__":
    main()
