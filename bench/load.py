"""Driving a real server: requests at a concurrency, latency percentiles, peak RSS of a process."""

import asyncio
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np

from center_api.testing.cluster import rss_mb

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


class PeakRss:
    """Samples the RSS of processes every 20 ms in a thread; ``peak`` is of their sum."""

    def __init__(self, *pids: int) -> None:
        self.pids, self.peak, self._stop = pids, 0.0, threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(rss_mb(pid) for pid in self.pids))
            time.sleep(0.02)


def cpu_seconds(*pids: int) -> float:
    """CPU time (user + system, all threads) the processes have used so far."""
    total = 0
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return total / os.sysconf("SC_CLK_TCK")


@dataclass
class Level:
    """One measured level: throughput, latency percentiles (ms), peak RSS (MB), failures,
    and the server's CPU seconds per answered request (what a dedicated machine would pay).
    """

    rps: float
    p50: float
    p99: float
    peak_mb: float
    errors: int
    cpu_per_request: float = 0.0

    def row(self) -> str:
        """The figures as table cells."""
        failures = f"  {self.errors} errors" if self.errors else ""
        return (
            f"{self.rps:7.2f} {self.p50:8.0f} {self.p99:8.0f} {self.peak_mb:8.0f}MB"
            f" {self.cpu_per_request:9.2f}{failures}"
        )


async def _drive(request: Request, concurrency: int, total: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    pending = list(range(total))

    async def worker(client: httpx.AsyncClient) -> None:
        nonlocal errors
        while pending:
            pending.pop()
            start = time.perf_counter()
            response = await request(client)
            if response.status_code >= 400:
                errors += 1
            latencies.append(time.perf_counter() - start)

    async with httpx.AsyncClient(timeout=300) as client:
        start = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        return latencies, errors, time.perf_counter() - start


def measure(request: Request, concurrency: int, total: int, *pids: int) -> Level:
    """Send ``total`` requests, ``concurrency`` at a time, sampling the RSS of ``pids``."""
    cpu_before = cpu_seconds(*pids)
    with PeakRss(*pids) as peak:
        latencies, errors, wall = asyncio.run(_drive(request, concurrency, total))
    cpu = cpu_seconds(*pids) - cpu_before
    ms = np.array(latencies) * 1000
    return Level(
        rps=(len(ms) - errors) / wall,  # answered requests per second
        p50=float(np.percentile(ms, 50)),
        p99=float(np.percentile(ms, 99)),
        peak_mb=peak.peak,
        errors=errors,
        cpu_per_request=cpu / max(1, len(ms) - errors),
    )


def form_post(
    url: str,
    files: dict[str, tuple[str, bytes, str]],
    fields: dict[str, str],
    headers: dict[str, str] | None = None,
) -> Request:
    """A request that posts one multipart form."""
    parts = {**files, **{k: (None, v) for k, v in fields.items()}}

    async def send(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(url, files=parts, headers=headers or {})

    return send
