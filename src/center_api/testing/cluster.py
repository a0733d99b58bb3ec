"""Start `center-api serve` processes (any role) on loopback, as a deployment would run them.

Used by the multi-process tests and the scale-out benchmark: each node is a real OS process with
its own environment, killed or stopped like a real one.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

from center_api.core.settings import API_PREFIX


def rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` in MB (NaN once it has none, e.g. it exited)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Node:
    """One running ``center-api serve --role …`` process."""

    process: subprocess.Popen[bytes]
    role: str
    log: Path
    base_url: str | None  # None for workers (no HTTP)

    def log_text(self) -> str:
        """Everything the process has logged so far."""
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash or an OOM kill."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self, timeout_s: float = 30.0) -> None:
        """SIGTERM and wait (SIGKILL after ``timeout_s``)."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.kill()


def start_node(role: str, env: dict[str, str], log: Path, timeout_s: float = 60.0) -> Node:
    """Start one process of ``role`` (api, worker or all) with ``env`` on top of ours.

    Waits until an HTTP node answers ``/api/v1/health/live`` or a worker logs ``worker.started``
    (so a worker's log level must let INFO through).

    Raises:
        RuntimeError: The process exited or did not get ready in ``timeout_s``.
    """
    port = free_port()
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "PORT": str(port), **env}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "center_api", "serve", "--role", role],
            env=full_env,
            stdout=out,
            stderr=out,
        )
    node = Node(process, role, log, None if role == "worker" else f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        if _is_ready(node):
            return node
        time.sleep(0.2)
    node.stop(timeout_s=2)
    raise RuntimeError(f"{role} node did not start: {node.log_text()[-3000:]}")


def _is_ready(node: Node) -> bool:
    if node.base_url is None:
        return "worker.started" in node.log_text()
    try:
        return httpx.get(f"{node.base_url}{API_PREFIX}/health/live", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def create_database(admin_url: str) -> str:
    """Create an empty PostgreSQL database next to ``admin_url``'s; return its asyncpg URL.

    Raises:
        OSError: The server cannot be reached.
    """
    name = f"center_api_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://")
    return f"{base}/{name}"


def drop_database(admin_url: str, url: str) -> None:
    """Drop the database `create_database` made (closing its connections)."""
    name = url.rsplit("/", 1)[-1]
    asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(admin_url: str, sql: str) -> None:
    connection = await asyncpg.connect(admin_url, timeout=5)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()
