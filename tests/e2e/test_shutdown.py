"""SIGTERM with event streams open, a task running and tasks queued: the server stops promptly,
every stream ends with a ``shutdown`` event, and after a restart every task completes, once.
"""

import json
import signal
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import encode_png, subject_on_background
from tests.support.server import start_server, submit_cutout

pytestmark = pytest.mark.e2e
TASKS = 4
EXIT_WITHIN_S = 15


def status_of(base: str, task_id: str) -> dict:
    return httpx.get(f"{base}/api/v1/tasks/{task_id}", timeout=10).json()


def wait_status(base: str, task_id: str, wanted: tuple[str, ...], seconds: float = 60) -> dict:
    deadline = time.monotonic() + seconds
    while (view := status_of(base, task_id))["status"] not in wanted:
        assert time.monotonic() < deadline, view
        time.sleep(0.05)
    return view


def follow(base: str, task_id: str, opened: threading.Event) -> list[tuple[str, dict]]:
    """Every (event name, data) of the task's stream, until the server ends it."""
    events, name = [], "message"
    with httpx.stream("GET", f"{base}/api/v1/tasks/{task_id}/events", timeout=60) as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
                opened.set()
    return events


def test_sigterm_ends_streams_requeues_work_and_a_restart_finishes_it(tmp_path, model_dir):
    big = encode_png(subject_on_background((3600, 2700))[0])  # about a second of work each
    small = encode_png(subject_on_background((320, 240))[0])  # the paused one never runs first
    env = {"CENTER_API__TASKS__WORKERS": "1", "CENTER_API__INFERENCE__MAX_CONCURRENT": "1"}
    log = tmp_path / "server.log"
    process, base = start_server(tmp_path, model_dir, log, env)
    streams: dict[str, Future[list[tuple[str, dict]]]] = {}
    with ThreadPoolExecutor(TASKS) as pool:
        try:
            ids = [submit_cutout(base, big if n < TASKS - 1 else small) for n in range(TASKS)]
            runnable, paused = ids[:-1], ids[-1]
            assert httpx.put(f"{base}/api/v1/tasks/{paused}/pause").status_code == 200
            for task_id in ids:  # a paused task's stream would never end by itself
                opened = threading.Event()
                streams[task_id] = pool.submit(follow, base, task_id, opened)
                assert opened.wait(timeout=10)
            assert any(status_of(base, i)["status"] == "PROCESSING" for i in runnable)
            process.send_signal(signal.SIGTERM)
            code = process.wait(timeout=EXIT_WITHIN_S)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        # uvicorn re-raises the signal after a graceful shutdown, so -SIGTERM is a clean exit.
        assert code in (0, -signal.SIGTERM), log.read_text()[-3000:]
        assert "Application shutdown complete" in log.read_text()
        ended = {task_id: stream.result(timeout=5) for task_id, stream in streams.items()}
    last = {task_id: events[-1] for task_id, events in ended.items()}
    assert last[paused] == ("shutdown", {**last[paused][1], "status": "PAUSED"})
    for task_id in runnable:  # done before the signal, or told of the stop and put back
        name, data = last[task_id]
        assert (name, data["status"]) in (("task", "COMPLETED"), ("shutdown", "PENDING"))
        assert data["id"] == task_id and (name == "task" or data["message"])
    interrupted = [
        task_id
        for task_id in runnable
        if last[task_id][0] == "shutdown"
        and any(data["status"] == "PROCESSING" for _, data in ended[task_id])
    ]
    assert len(interrupted) == 1, ended  # the one running at the signal

    # Same database and results; two at a time now, as the signal is behind us.
    both = {"CENTER_API__TASKS__WORKERS": "2", "CENTER_API__INFERENCE__MAX_CONCURRENT": "2"}
    process, base = start_server(tmp_path, model_dir, log, both)
    try:
        assert httpx.put(f"{base}/api/v1/tasks/{paused}/resume").status_code == 200
        views = [wait_status(base, task_id, ("COMPLETED", "FAILED")) for task_id in ids]
        # Completed once each; the interrupted run's attempt was given back.
        assert [(v["status"], v["attempts"]) for v in views] == [("COMPLETED", 1)] * TASKS
        usage = httpx.get(f"{base}/api/v1/tools/usage", params={"limit": 500}).json()["items"]
        assert sorted(row["task_id"] for row in usage if row["task_id"]) == sorted(ids)
        assert all(row["outcome"] == "success" for row in usage if row["task_id"])
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
