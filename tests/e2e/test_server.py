"""A real uvicorn process started by the `center-api serve` command, spoken to over HTTP."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.conftest import decode_png, encode_png, subject_on_background

pytestmark = pytest.mark.e2e


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def server(tmp_path: Path, model_dir: Path) -> Iterator[tuple[str, Path]]:
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "CENTER_API_CONFIG": str(Path(__file__).resolve().parents[2] / "litestar.toml"),
        "PORT": str(port),
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/app.db",
        "MODEL_STORE_DIR": str(model_dir),
        "CENTER_API__LOGGING__JSON": "true",
    }
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "center_api", "serve"], env=env, stderr=out, stdout=out
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/api/v1/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            raise AssertionError(f"server did not start: {log.read_text()}")
        yield base, log
    finally:
        process.send_signal(signal.SIGTERM)
        # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit.
        assert process.wait(timeout=20) in (0, -signal.SIGTERM), log.read_text()
        assert "Application shutdown complete" in log.read_text()


def test_curl_style_cutout_against_a_real_server(server):
    base, log = server
    image, truth = subject_on_background()
    response = httpx.post(
        f"{base}/api/v1/cutout/segment",
        files={"file": ("photo.png", encode_png(image), "image/png")},
        headers={"X-Request-ID": "e2e-1"},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    alpha = decode_png(response.content)[..., 3]
    assert alpha[truth].mean() > 200 and alpha[~truth].mean() < 30
    assert response.headers["x-request-id"] == "e2e-1"
    assert httpx.get(f"{base}/api/v1/health", timeout=10).json()["ready"] is True
    assert 'model="u2netp"' in httpx.get(f"{base}/metrics", timeout=10).text
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    done = [line for line in lines if line.get("event") == "request.completed"]
    assert any(line["request_id"] == "e2e-1" and line["status"] == 200 for line in done)
    assert np.isfinite(float(response.headers["x-processing-ms"]))
