"""Task callbacks a receiver can trust: signed, retried within bounds, recorded on the task.

A real HTTP receiver on 127.0.0.1 answers from a script, so every test allows private networks
except the ones about the address policy.
"""

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import msgspec
import pytest
import structlog
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.core.settings import FetchSettings, TaskSettings
from center_api.tasks.callbacks import send_callback
from center_api.tasks.service import TaskService
from center_api.testing.cluster import free_port
from tests.conftest import encode_png, subject_on_background

TASKS = "/api/v1/tasks"
SECRET = "webhook-test-secret"
OPEN = FetchSettings(allow_private_networks=True, timeout_s=2.0)
FAST = {"webhook_backoff_s": 0.05, "webhook_max_attempts": 4, "webhook_max_total_s": 10.0}


class Received(msgspec.Struct):
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


class Receiver:
    """Answers POSTs from a script per path (then 200) and records what it received."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.script: dict[str, list[tuple[int, dict[str, str]] | float]] = {}
        self.url = ""

    def answer(self, path: str, *answers: tuple[int, dict[str, str]] | int | float) -> str:
        """Queue answers for ``path``: a status, (status, headers), or a float = stall seconds."""
        self.script[path] = [(a, {}) if isinstance(a, int) else a for a in answers]
        return f"{self.url}{path}"

    def next_answer(self, path: str) -> tuple[int, dict[str, str]] | float:
        queue = self.script.get(path, [])
        return queue.pop(0) if queue else (200, {})

    def posts(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]


@contextmanager
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            state.received.append(Received(self.path, headers, body, time.monotonic()))
            answer = state.next_answer(self.path)
            if isinstance(answer, float):
                time.sleep(answer)
                answer = (200, {})
            status, extra = answer
            self.send_response(status)
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


def expected_signature(body: bytes, secret: str = SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build_settings(make_settings, tmp_path, **tasks):
    return make_settings(
        tasks={"results_dir": str(tmp_path / "results"), "workers": 1, **FAST, **tasks},
        inference={"max_concurrent": 1},
        queue={"url": ""},
        fetch={"allow_private_networks": True, "timeout_s": 2.0},
    )


def submit(client, **fields) -> dict:
    image = encode_png(subject_on_background((160, 120))[0])
    files = {"file": ("a.png", image, "image/png"), "tool": (None, "cutout")}
    files |= {name: (None, value) for name, value in fields.items()}
    response = client.post(TASKS, files=files)
    assert response.status_code == 202, response.text
    return response.json()


def wait_until(predicate, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture(scope="module")
def shared_app(make_module_settings, tmp_path_factory):
    """The real app on a local queue and its TaskService, started once for the module."""
    folder = tmp_path_factory.mktemp("webhooks")
    app = create_app(build_settings(make_module_settings, folder, webhook_secret=SECRET))
    with TestClient(app) as client:
        yield client, client.blocking_portal.call(app.state.dishka_container.get, TaskService)


@pytest.fixture
def running(shared_app):
    """The shared app, its TaskService, and a fresh COMPLETED task without callback."""
    client, service = shared_app
    task = submit(client)
    wait_until(lambda: client.get(f"{TASKS}/{task['id']}").json()["status"] == "COMPLETED")
    return client, service, task["id"]


def deliver(running, url: str, fetch: FetchSettings = OPEN, **tasks):
    """Run `send_callback` to the end on the app's loop; return the task row afterwards."""
    client, service, task_id = running
    settings = TaskSettings(**{**FAST, "webhook_secret": SECRET, **tasks})
    client.blocking_portal.call(send_callback, service.store, task_id, url, fetch, settings)
    return client.blocking_portal.call(service.store.get, task_id)


# --- end to end -----------------------------------------------------------------------------


def test_a_signed_delivery_is_retried_until_accepted_and_recorded(make_settings, tmp_path):
    with receiver() as hook:
        url = hook.answer("/hook", 503, 503, 200)
        app = create_app(build_settings(make_settings, tmp_path, webhook_secret=SECRET))
        with TestClient(app) as client:
            service = client.blocking_portal.call(app.state.dishka_container.get, TaskService)
            task = submit(client, callback_url=url)

            def recorded():
                row = client.blocking_portal.call(service.store.get, task["id"])
                return row if row.callback_attempts == 3 else None

            row = wait_until(recorded)
    posts = hook.posts("/hook")
    assert len(posts) == 3
    assert row.callback_status == "200" and row.callback_attempts == 3
    assert row.callback_at is not None
    first = posts[0]
    payload = json.loads(first.body)
    assert payload["id"] == task["id"] and payload["status"] == "COMPLETED"
    assert payload["result"] == f"{TASKS}/{task['id']}/result"
    # One delivery: the same bytes, id and timestamp on every attempt, each signed.
    for post in posts:
        assert post.body == first.body
        assert post.headers["content-type"] == "application/json"
        assert post.headers["x-center-signature"] == expected_signature(post.body)
        assert post.headers["x-center-delivery"] == payload["delivery_id"]
        assert post.headers["x-center-timestamp"] == first.headers["x-center-timestamp"]
    assert len(payload["delivery_id"]) == 32
    sent_at = datetime.fromisoformat(payload["sent_at"].replace("Z", "+00:00"))
    assert int(first.headers["x-center-timestamp"]) == int(sent_at.timestamp())
    assert abs(time.time() - sent_at.timestamp()) < 60
    # Doubling backoff between attempts.
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert gaps[0] >= 0.04 and gaps[1] >= 0.09


def test_a_tampered_body_does_not_verify(running):
    with receiver() as hook:
        deliver(running, hook.answer("/hook", 200))
    (post,) = hook.posts("/hook")
    tampered = post.body.replace(b"COMPLETED", b"FAILED")
    assert post.headers["x-center-signature"] == expected_signature(post.body)
    assert post.headers["x-center-signature"] != expected_signature(tampered)
    assert post.headers["x-center-signature"] != expected_signature(post.body, "other-secret")


def test_without_a_secret_there_is_no_signature(running):
    with receiver() as hook:
        row = deliver(running, hook.answer("/hook", 204), webhook_secret="")
    (post,) = hook.posts("/hook")
    assert "x-center-signature" not in post.headers
    assert post.headers["x-center-delivery"] == json.loads(post.body)["delivery_id"]
    assert post.headers["x-center-timestamp"].isdigit()
    assert row.callback_status == "204" and row.callback_attempts == 1


# --- what is retried and what is not ---------------------------------------------------------


def test_a_receiver_refusing_with_400_gets_exactly_one_attempt(running):
    with receiver() as hook:
        row = deliver(running, hook.answer("/hook", 400, 200))
    assert len(hook.posts("/hook")) == 1
    assert row.callback_status == "400" and row.callback_attempts == 1


def test_429_is_retried(running):
    with receiver() as hook:
        row = deliver(running, hook.answer("/hook", 429, 200))
    assert len(hook.posts("/hook")) == 2
    assert row.callback_status == "200" and row.callback_attempts == 2


def test_a_redirect_is_not_followed(running):
    with receiver() as hook:
        other = hook.answer("/other", 200)
        row = deliver(running, hook.answer("/hook", (302, {"Location": other})))
        row_307 = deliver(running, hook.answer("/hook307", (307, {"Location": other})))
    assert len(hook.posts("/hook")) == 1 and len(hook.posts("/hook307")) == 1
    assert hook.posts("/other") == []
    assert row.callback_status == "302" and row.callback_attempts == 1
    assert row_307.callback_status == "307"


def test_attempts_stop_at_the_maximum(running):
    with receiver() as hook:
        row = deliver(
            running, hook.answer("/hook", 500, 502, 503, 504, 200), webhook_max_attempts=3
        )
    assert len(hook.posts("/hook")) == 3
    assert row.callback_status == "503" and row.callback_attempts == 3


def test_attempts_stop_at_the_total_time_limit(running):
    with receiver() as hook:
        url = hook.answer("/hook", *[503] * 10)
        started = time.monotonic()
        row = deliver(
            running,
            url,
            webhook_backoff_s=0.2,
            webhook_max_attempts=10,
            webhook_max_total_s=0.5,
        )
        elapsed = time.monotonic() - started
    # Attempts at 0 s and 0.2 s; the next would start at 0.6 s, past the limit.
    assert len(hook.posts("/hook")) == 2
    assert row.callback_status == "503" and row.callback_attempts == 2
    assert elapsed < 2


def test_a_timeout_is_recorded_and_retried(running):
    with receiver() as hook:
        url = hook.answer("/slow", 1.0, 1.0)
        quick = FetchSettings(allow_private_networks=True, timeout_s=0.3)
        row = deliver(running, url, quick, webhook_max_attempts=2)
        # The sender gave up before the receiver's thread got to record the second request.
        wait_until(lambda: len(hook.posts("/slow")) == 2)
    assert len(hook.posts("/slow")) == 2
    assert row.callback_status == "timeout" and row.callback_attempts == 2


def test_a_connection_error_is_recorded_and_retried(running):
    row = deliver(running, f"http://127.0.0.1:{free_port()}/hook", webhook_max_attempts=2)
    assert row.callback_status == "error" and row.callback_attempts == 2


# --- the address policy ------------------------------------------------------------------------


REFUSED_HOSTS = [
    "127.0.0.1",
    "[::127.0.0.1]",
    "[::ffff:127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "2130706433",
]


def test_a_url_the_policy_refuses_is_recorded_as_refused_without_a_connection(running):
    with receiver() as hook:
        port = hook.url.rsplit(":", 1)[1]
        previous = None
        for host in REFUSED_HOSTS:
            row = deliver(running, f"http://{host}:{port}/hook", FetchSettings())
            assert row.callback_status == "refused" and row.callback_attempts == 1, host
            assert previous is None or row.callback_at >= previous
            previous = row.callback_at
    assert hook.received == []


def test_logs_carry_neither_the_secret_nor_addresses(running):
    with receiver() as hook, structlog.testing.capture_logs() as logs:
        deliver(running, hook.answer("/hook", 503, 200))
        port = hook.url.rsplit(":", 1)[1]
        deliver(running, f"http://[::127.0.0.1]:{port}/hook", FetchSettings())
    attempts = [e for e in logs if e["event"] == "task.callback_attempt"]
    assert [e["outcome"] for e in attempts] == ["503", "200", "refused"]
    assert len({e["delivery_id"] for e in attempts}) == 2
    text = repr(logs)
    assert SECRET not in text and "127.0.0.1" not in text and "sha256=" not in text
