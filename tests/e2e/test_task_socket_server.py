"""WebSockets on a real uvicorn server: a task followed to its end, and SIGTERM closing a socket
with a ``shutdown`` event (1001) while the server stops promptly."""

import json
import signal

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import encode_png, subject_on_background
from tests.support.server import start_server, submit_cutout

pytestmark = pytest.mark.e2e


def messages_until_closed(socket) -> tuple[list[dict], int | None]:
    received = []
    try:
        while True:
            received.append(json.loads(socket.recv(timeout=30)))
    except ConnectionClosed as closed:
        return received, closed.rcvd.code if closed.rcvd else None


def test_a_real_server_streams_a_task_and_closes_sockets_on_sigterm(tmp_path, model_dir):
    env = {"CENTER_API__TASKS__WORKERS": "1"}
    process, base = start_server(tmp_path, model_dir, tmp_path / "server.log", env)
    ws = base.replace("http://", "ws://", 1)
    try:
        done = submit_cutout(base, encode_png(subject_on_background((64, 48))[0]))
        with connect(f"{ws}/api/v1/tasks/{done}/ws") as socket:
            received, code = messages_until_closed(socket)
        assert code == 1000 and received[-1]["status"] == "COMPLETED"
        images = [encode_png(subject_on_background((66 + i, 48))[0]) for i in range(3)]
        files = [("files", (f"{i}.png", image, "image/png")) for i, image in enumerate(images)]
        batch = httpx.post(f"{base}/api/v1/tasks/batch", files=[*files, ("tool", (None, "cutout"))])
        held = batch.json()["id"]  # paused: one worker, so two children at least never start
        assert httpx.put(f"{base}/api/v1/tasks/{held}/pause", timeout=10).status_code == 200
        with connect(f"{ws}/api/v1/tasks/{held}/ws") as socket:
            first = json.loads(socket.recv(timeout=10))
            process.send_signal(signal.SIGTERM)
            received, code = messages_until_closed(socket)
        assert code == 1001
        assert received[-1]["event"] == "shutdown" and "reconnect" in received[-1]["message"]
        assert received[-1]["status"] not in ("COMPLETED", "FAILED", "CANCELLED")
        assert first["id"] == held
        assert process.wait(timeout=15) in (0, -signal.SIGTERM)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
