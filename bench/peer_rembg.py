"""Cutout against rembg's own server on the same machine, model and photo, in one run.

``python bench/peer_rembg.py --rembg /path/to/venv/bin/rembg [--side 1536] [--requests 24]``

rembg lives in its own venv (``python -m venv .rembg && .rembg/bin/pip install 'rembg[cli]'``);
its u2netp weights are ours (the same file, md5 8e83ca70…), copied into a temporary
``U2NET_HOME`` so it downloads nothing. Both servers run with their defaults: ``rembg s`` and
``center-api serve``; ours is sent ``Cache-Control: no-cache`` so every request is real work.
Ours runs twice per turn: with its default model (u2netp-int8, the same IoU) and asked for the
float u2netp (the very model rembg runs). They are measured in turns (ours, ours with u2netp,
rembg, and again) at concurrency 8, and the figures summed per row, so a noisy neighbour weighs
on all alike. Prints req/s, p50/p99 and peak RSS
(rembg's server and its children together).
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _harness import DEFAULT_PHOTO, REPO, photo_bytes
from load import Level, form_post, measure
from slices import NO_CACHE, start

from center_api.testing.cluster import free_port


def start_rembg(rembg: Path, home: Path, log: Path) -> tuple[subprocess.Popen[bytes], str]:
    """``rembg s`` on a free loopback port with u2netp in ``home``; waits until it answers."""
    shutil.copyfile(REPO / "model_store/u2netp.onnx", home / "u2netp.onnx")
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(rembg), "s", "--host", "127.0.0.1", "--port", str(port), "--no-ui"],
            env={"U2NET_HOME": str(home), "PATH": "/usr/bin:/bin", "HOME": str(home)},
            stdout=out,
            stderr=out,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if httpx.get(f"{base}/docs", timeout=2).status_code < 500:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"rembg did not start: {log.read_text()[-2000:]}")


def total(levels: list[Level]) -> Level:
    """Turns of one server folded together (throughput averaged, worst tail, highest peak)."""
    return Level(
        rps=sum(level.rps for level in levels) / len(levels),
        p50=sorted(level.p50 for level in levels)[len(levels) // 2],
        p99=max(level.p99 for level in levels),
        peak_mb=max(level.peak_mb for level in levels),
        errors=sum(level.errors for level in levels),
        cpu_per_request=sum(level.cpu_per_request for level in levels) / len(levels),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rembg", type=Path, required=True, help="the rembg executable")
    parser.add_argument("--side", type=int, default=1536)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--requests", type=int, default=24)
    parser.add_argument("--turns", type=int, default=2)
    args = parser.parse_args()
    data = photo_bytes(DEFAULT_PHOTO, args.side)
    files = {"file": ("p.jpg", data, "image/jpeg")}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        # rembg queues without limit; ours would refuse after 30 s on a very loaded machine.
        # One server per model, so that each row's memory is that model's alone.
        (work / "float").mkdir()
        ours = start(work, CENTER_API__INFERENCE__MAX_QUEUE_WAIT_S="600")
        ours_float = start(work / "float", CENTER_API__INFERENCE__MAX_QUEUE_WAIT_S="600")
        peer, peer_base = start_rembg(args.rembg, work, work / "rembg.log")
        try:
            segment = "/api/v1/cutout/segment"
            peer_pids = [peer.pid, *_children(peer.pid)]
            rows = {  # name -> (request, the pids whose CPU and memory it costs)
                "center-api": (
                    form_post(ours.base_url + segment, files, {}, NO_CACHE),
                    [ours.process.pid],
                ),
                "  (u2netp)": (
                    form_post(ours_float.base_url + segment, files, {"model": "u2netp"}, NO_CACHE),
                    [ours_float.process.pid],
                ),
                "rembg s": (
                    form_post(f"{peer_base}/api/remove", files, {"model": "u2netp"}),
                    peer_pids,
                ),
            }
            for request, pids in rows.values():  # warm-up: models loaded, arenas grown
                measure(request, 2, 4, *pids)
            runs: dict[str, list[Level]] = {name: [] for name in rows}
            for _ in range(args.turns):
                for name, (request, pids) in rows.items():
                    runs[name].append(measure(request, args.concurrency, args.requests, *pids))
            print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}")
            print(
                f"cutout, {args.side} px photo, concurrency {args.concurrency}, "
                f"{args.turns} x {args.requests} requests each; center-api with its default "
                "u2netp-int8 and with u2netp, rembg with u2netp"
            )
            print(
                f"{'server':12} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'peak RSS':>10}"
                f" {'CPU s/req':>9}"
            )
            folded = {name: total(levels) for name, levels in runs.items()}
            for name, level in folded.items():
                print(f"{name:12} {level.row()}")
            theirs = folded["rembg s"]
            cores = len(os.sched_getaffinity(0))
            for name, model in (("center-api", "u2netp-int8"), ("  (u2netp)", "u2netp")):
                mine = folded[name]
                print(
                    f"{model}: throughput x{mine.rps / theirs.rps:.2f} rembg's on this machine, "
                    f"peak RSS {mine.peak_mb / theirs.peak_mb:.2f} of rembg's, CPU per request "
                    f"x{theirs.cpu_per_request / mine.cpu_per_request:.2f} less (on a dedicated "
                    f"{cores}-core machine about {cores / mine.cpu_per_request:.2f} vs "
                    f"{cores / theirs.cpu_per_request:.2f} req/s)"
                )
        finally:
            ours.stop(timeout_s=30)
            ours_float.stop(timeout_s=30)
            peer.terminate()
            peer.wait(timeout=30)


def _children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


if __name__ == "__main__":
    main()
