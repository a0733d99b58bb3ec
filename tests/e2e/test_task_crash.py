"""A real server is SIGKILLed with tasks running; after a restart every task ends, once."""

import io
import signal
import time

import httpx
import pytest
from PIL import Image

from tests.conftest import encode_png, subject_on_background
from tests.support.server import start_server, submit_cutout

pytestmark = pytest.mark.e2e
TOTAL = 8
SIZE = (480, 360)  # the model sees 320 px whatever the size: a bigger photo only adds encoding


def completed(base: str) -> int:
    page = httpx.get(f"{base}/api/v1/tasks", params={"status": "COMPLETED", "limit": 1}, timeout=10)
    return int(page.json()["total"])


def statuses(base: str, ids: list[str]) -> dict[str, str]:
    return {i: httpx.get(f"{base}/api/v1/tasks/{i}", timeout=10).json()["status"] for i in ids}


def test_a_crash_mid_run_loses_no_task_and_runs_none_twice(tmp_path, model_dir):
    image = encode_png(subject_on_background(SIZE)[0])
    log = tmp_path / "server.log"
    env = {"CENTER_API__TASKS__WORKERS": "2", "CENTER_API__USAGE__FLUSH_INTERVAL_S": "0.1"}
    process, base = start_server(tmp_path, model_dir, log, env)
    try:
        ids = [submit_cutout(base, image) for _ in range(TOTAL)]
        deadline = time.monotonic() + 120
        while (done_at_kill := completed(base)) == 0:  # the kill comes soon after the first
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    assert done_at_kill < TOTAL, "killed too late to prove anything"
    print(f"\nat the kill: {done_at_kill} of {TOTAL} completed")

    process, base = start_server(tmp_path, model_dir, log, env)
    try:
        deadline = time.monotonic() + 240
        after = statuses(base, ids)
        while not all(s in ("COMPLETED", "FAILED") for s in after.values()):
            assert time.monotonic() < deadline, after
            time.sleep(0.2)
            after = statuses(base, ids)
        failed = [
            httpx.get(f"{base}/api/v1/tasks/{i}").json() for i, s in after.items() if s == "FAILED"
        ]
        assert all(task["error"]["code"] for task in failed)
        assert list(after.values()).count("COMPLETED") + len(failed) == TOTAL
        for task_id, status in after.items():
            if status == "COMPLETED":
                result = httpx.get(f"{base}/api/v1/tasks/{task_id}/result", timeout=30)
                assert result.status_code == 200
                assert Image.open(io.BytesIO(result.content)).size == SIZE
        time.sleep(0.5)  # one usage flush interval
        usage = httpx.get(f"{base}/api/v1/tools/usage", params={"limit": 500}).json()["items"]
        successes = [row["task_id"] for row in usage if row["outcome"] == "success"]
        assert len(successes) == len(set(successes)), "a task completed twice"
        done = list(after.values()).count("COMPLETED")
        print(f"after restart: {done} completed, {len(failed)} failed")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
