"""Configuration as people expect it, seen from a real process started in a folder with `.env`."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from center_api.testing.cluster import free_port

# Variables of the test run that would override the folder's `.env`.
_OVERRIDES = ("CENTER_API", "HOST", "PORT", "DATABASE_URL", "QUEUE_URL", "REDIS_URL", "API_")


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(_OVERRIDES)}


def center_api(folder: Path, *args: str, **kwargs) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "center_api", *args],
        cwd=folder,
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_a_server_started_in_a_folder_reads_its_dotenv(tmp_path, model_dir):
    port = free_port()
    (tmp_path / ".env").write_text(
        f"API_PORT={port}\n"
        f"DATABASE_URL=sqlite+aiosqlite:///{tmp_path}/app.db\n"
        f"MODEL_STORE_DIR={model_dir}\n"
        f"CENTER_API__TASKS__RESULTS_DIR={tmp_path}/results\n"
        "MAX_WORKERS=1\n"
    )
    server = center_api(tmp_path, "serve")
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, server.communicate()[1][-2000:]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/v1/health/live").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert (tmp_path / "app.db").is_file()  # the .env's database, migrated on start
    finally:
        server.terminate()
        server.communicate(timeout=30)


def test_config_show_masks_secrets_and_an_unknown_variable_stops_the_start(tmp_path):
    shown_in, broken_in = tmp_path / "shown", tmp_path / "broken"
    shown_in.mkdir()
    broken_in.mkdir()
    (shown_in / ".env").write_text(
        "DATABASE_URL=postgresql+asyncpg://app:hunter2@db:5432/app\n"
        "CENTER_API__TASKS__WEBHOOK_SECRET=topsecret\n"
        "API_PORT=9001\n"
    )
    (broken_in / ".env").write_text("CENTER_API__SERVER__PROT=9000\n")
    show, broken = center_api(shown_in, "config", "show"), center_api(broken_in, "serve")
    shown, (_, err) = show.communicate(timeout=60)[0], broken.communicate(timeout=60)
    assert broken.returncode == 2
    assert "unknown setting variable CENTER_API__SERVER__PROT (from .env)" in err
    lines = dict(line.split(" = ", 1) for line in shown.splitlines())
    assert "hunter2" not in shown and "topsecret" not in shown
    assert lines["database.url"] == (
        '"postgresql+asyncpg://app:******@db:5432/app"  # .env DATABASE_URL'
    )
    assert lines["tasks.webhook_secret"].startswith('"******"')
    assert lines["server.port"] == "9001  # .env API_PORT"
    assert lines["server.host"] == '"127.0.0.1"  # default'
