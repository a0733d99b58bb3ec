"""Start `center-api serve` as a real process on a free loopback port."""

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(
    workdir: Path, model_dir: Path, log: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """Serve with a database and result folder in ``workdir``; wait until live."""
    port = free_port()
    env = {
        **os.environ,
        "CENTER_API_CONFIG": str(REPO / "litestar.toml"),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir}/app.db",
        "MODEL_STORE_DIR": str(model_dir),
        "CENTER_API__TASKS__RESULTS_DIR": str(workdir / "results"),
        "CENTER_API__LOGGING__JSON": "true",
        **(extra_env or {}),
    }
    with log.open("a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "center_api", "serve"], env=env, stderr=out, stdout=out
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/api/v1/health/live", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"server did not start: {log.read_text()}")
