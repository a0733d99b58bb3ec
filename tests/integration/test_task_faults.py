"""Tasks under faults: partly failed batches deliver, short timeouts hold, nothing is orphaned,
usage rows are never left in a buffer, and a stop puts work back without losing any.
"""

import asyncio
import base64
import io
import json
import threading
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import structlog
from litestar.testing import TestClient
from sqlalchemy.exc import OperationalError

from center_api.bootstrap.app import create_app
from center_api.tasks.archive import batch_input_name, result_name, safe_name
from center_api.tasks.domain import TaskStatus
from center_api.tasks.service import TaskService
from tests.conftest import assert_error, deep_merge, encode_png, subject_on_background
from tests.integration.test_tasks import TASKS, blocked_kernel, submit, wait_for

# A flush interval no test waits out: a usage row seen at once was written with its task.
NEVER_FLUSHED = {"flush_interval_s": 3600.0}


@pytest.fixture
def image() -> bytes:
    return encode_png(subject_on_background((240, 180))[0])


@pytest.fixture
def results_dir(tmp_path) -> Path:
    return tmp_path / "results"


@pytest.fixture
def local_settings(make_settings, results_dir):
    """In-process queue, one worker, one inference slot, usage never flushed by time."""

    def build(**sections):
        base = {
            "tasks": {"results_dir": str(results_dir), "workers": 1},
            "inference": {"max_concurrent": 1},
            "queue": {"url": ""},
            "usage": NEVER_FLUSHED,
        }
        return make_settings(**deep_merge(base, sections))

    return build


def service_of(client, app) -> TaskService:
    return client.blocking_portal.call(app.state.dishka_container.get, TaskService)


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.is_dir() else []


def usage_of(client, task_id: str) -> list[dict]:
    rows = client.get("/api/v1/tools/usage", params={"limit": 500}).json()["items"]
    return [row for row in rows if row["task_id"] == task_id]


# --- names -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("photo.jpg", "photo.jpg"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\holiday.jpeg", "holiday.jpeg"),
        ("..", None),
        ("...hidden.png", "hidden.png"),
        ("a..b.png", "a.b.png"),
        ("bad\x00na\x1bme\u202e.png", "badname.png"),
        ('we"ird:name?.png', "we_ird_name_.png"),
        ("   ", None),
        (None, None),
    ],
)
def test_upload_names_are_made_safe(given, expected):
    assert safe_name(given) == expected


def test_long_names_are_cut_but_keep_their_extension():
    name = safe_name("x" * 400 + ".jpeg")
    assert name is not None and len(name) <= 120 and name.endswith("x.jpeg")


def test_result_names_take_the_results_extension():
    assert result_name("photo.jpg", "image/png", "id") == "photo.png"
    assert result_name("archive.tar.gz", "image/webp", "id") == "archive.tar.webp"
    assert result_name("noext", "image/jpeg", "id") == "noext.jpg"
    assert result_name(None, "image/png", "0190-abc") == "0190-abc.png"
    assert batch_input_name(None, 3) == "image-4"


# --- batches -----------------------------------------------------------------------------------
def test_a_partly_failed_batch_still_delivers_a_named_zip_with_a_manifest(local_settings, image):
    broken = image[: len(image) // 2]  # a sound header: accepted, fails when it runs
    files = [
        ("files", ("photo.jpg", image, "image/png")),
        ("files", ("broken.png", broken, "image/png")),
        ("files", ("Photo.JPG", image, "image/png")),
        ("files", ("../../evil/photo.png", image, "image/png")),
    ]
    fields = [
        ("tool", (None, "cutout")),
        ("images_b64", (None, json.dumps([base64.b64encode(image).decode()]))),
    ]
    with TestClient(create_app(local_settings())) as client:
        response = client.post(f"{TASKS}/batch", files=[*files, *fields])
        assert response.status_code == 202, response.text
        batch = wait_for(client, response.json()["id"])
        assert batch["status"] == "COMPLETED"
        assert batch["children"] == {"total": 5, "COMPLETED": 4, "FAILED": 1}
        result = client.get(f"{TASKS}/{batch['id']}/result")
    assert result.status_code == 200
    assert result.headers["content-disposition"] == f'attachment; filename="{batch["id"]}.zip"'
    archive = zipfile.ZipFile(io.BytesIO(result.content))
    names = ["photo.png", "Photo-2.png", "photo-3.png", "image-5.png"]
    assert archive.namelist() == [*names, "manifest.json"]
    assert all(archive.read(name)[:4] == b"\x89PNG" for name in names)
    manifest = json.loads(archive.read("manifest.json"))
    assert manifest["batch_id"] == batch["id"]
    items = manifest["items"]
    assert [i["index"] for i in items] == [0, 1, 2, 3, 4]
    assert [i["input_name"] for i in items] == [
        "photo.jpg",
        "broken.png",
        "Photo.JPG",
        "photo.png",
        "image-5",
    ]
    assert [i["output_name"] for i in items] == [names[0], None, *names[1:]]
    assert [i["status"] for i in items] == ["COMPLETED", "FAILED", *["COMPLETED"] * 3]
    assert items[1]["error"]["code"] == "INVALID_IMAGE" and items[1]["error"]["message"]
    assert all(i["error"] is None for i in items if i["status"] == "COMPLETED")
    assert len({i["task_id"] for i in items}) == 5


def test_a_single_result_is_named_after_its_upload(local_settings, image):
    with TestClient(create_app(local_settings())) as client:
        plain = client.post(
            TASKS, files={"file": ("holiday 1.jpg", image, "image/png"), "tool": (None, "cutout")}
        ).json()
        accented = client.post(
            TASKS, files={"file": ("café.jpg", image, "image/png"), "tool": (None, "cutout")}
        ).json()
        for task in (plain, accented):
            assert wait_for(client, task["id"])["status"] == "COMPLETED"
        first = client.get(f"{TASKS}/{plain['id']}/result").headers["content-disposition"]
        second = client.get(f"{TASKS}/{accented['id']}/result").headers["content-disposition"]
    assert first == 'attachment; filename="holiday 1.png"'
    assert second == "attachment; filename=\"caf_.png\"; filename*=UTF-8''caf%C3%A9.png"


# --- timeouts and usage ------------------------------------------------------------------------
def test_a_sub_second_timeout_fails_each_attempt_and_records_each(local_settings, image):
    settings = local_settings(tasks={"max_attempts": 2, "retry_backoff_s": 0.05})
    app = create_app(settings)
    with TestClient(app) as client:
        with blocked_kernel(client, app):  # the task waits for the slot far longer than 0.5 s
            task = submit(client, image, timeout_s="0.5").json()
            view = wait_for(client, task["id"])
        row = client.blocking_portal.call(service_of(client, app).store.get, task["id"])
        assert row.timeout_s == 0.5
        assert (view["status"], view["attempts"]) == ("FAILED", 2)
        assert view["error"]["code"] == "TASK_TIMEOUT"
        assert "0.5 s" in view["error"]["message"]
        # Written with the task's own transitions: no flush has run.
        rows = usage_of(client, task["id"])
        assert [r["error_code"] for r in rows] == ["TASK_TIMEOUT", "TASK_TIMEOUT"]


def test_a_completed_tasks_usage_row_exists_as_soon_as_the_task_does(local_settings, image):
    with TestClient(create_app(local_settings())) as client:
        task = submit(client, image).json()
        assert wait_for(client, task["id"])["status"] == "COMPLETED"
        rows = usage_of(client, task["id"])
        assert [(r["outcome"], r["status_code"]) for r in rows] == [("success", 200)]
        assert rows[0]["output_bytes"] > 0


# --- no orphan files ---------------------------------------------------------------------------
def _database_down(*args, **kwargs):
    raise OperationalError("INSERT INTO processing_tasks", {}, Exception("disk I/O error"))


def test_inputs_are_deleted_when_their_rows_cannot_be_stored(local_settings, image, results_dir):
    app = create_app(local_settings())
    with TestClient(app) as client:
        service = service_of(client, app)
        add = service.store.add
        service.store.add = _database_down  # type: ignore[method-assign]
        try:
            assert_error(submit(client, image), 503, "DATABASE_ERROR")
            batch = [("files", (f"{i}.png", image, "image/png")) for i in range(3)]
            response = client.post(f"{TASKS}/batch", files=[*batch, ("tool", (None, "cutout"))])
            assert_error(response, 503, "DATABASE_ERROR")
        finally:
            service.store.add = add  # type: ignore[method-assign]
        assert files_under(results_dir / "inputs") == []
        assert client.get(TASKS).json()["total"] == 0
        task = submit(client, image).json()
        assert wait_for(client, task["id"])["status"] == "COMPLETED"
        assert len(files_under(results_dir / "inputs")) == 1


def test_a_result_is_deleted_when_its_completion_cannot_be_stored(
    local_settings, image, results_dir
):
    app = create_app(local_settings())
    with TestClient(app) as client:
        service = service_of(client, app)
        transition = service.store.transition

        completion_failed = threading.Event()

        async def failing_completion(task_id, target, **kwargs):
            if target == TaskStatus.COMPLETED:
                completion_failed.set()
                _database_down()
            return await transition(task_id, target, **kwargs)

        service.store.transition = failing_completion  # type: ignore[method-assign]
        try:
            task = submit(client, image).json()
            assert completion_failed.wait(timeout=30)
            deadline = time.monotonic() + 10
            while task["id"] in service.runner.running:  # the attempt is over
                assert time.monotonic() < deadline
                time.sleep(0.02)
        finally:
            service.store.transition = transition  # type: ignore[method-assign]
        assert len(files_under(results_dir / "inputs")) == 1
        assert files_under(results_dir / "results") == []


# --- stopping ----------------------------------------------------------------------------------
def read_named_events(client, task_id: str) -> list[tuple[str, dict]]:
    """Every (event name, data) of the task's stream, until the server ends it."""
    events, name = [], "message"
    with client.stream("GET", f"{TASKS}/{task_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                events.append((name, json.loads(line[5:])))
    return events


@pytest.fixture(params=["local", "saq"])
def any_queue_settings(request, make_settings, results_dir):
    """Settings on each queue adapter; the SAQ one gets a fresh queue name, purged after."""
    from tests.integration.test_tasks import purge
    from tests.support.services import redis_url

    queue = {"url": ""}
    if request.param == "saq":
        queue = {"url": redis_url(), "name": f"test-stop-{time.time_ns()}"}
    base = {
        "tasks": {"results_dir": str(results_dir), "workers": 1},
        "inference": {"max_concurrent": 1},
        "queue": queue,
    }
    yield make_settings(**base)
    if queue["url"]:
        asyncio.run(purge(queue))


def test_a_stop_requeues_running_work_ends_streams_and_a_restart_finishes_it(
    any_queue_settings, image
):
    app = create_app(any_queue_settings)
    with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
        service = service_of(client, app)
        with blocked_kernel(client, app):
            running = submit(client, image).json()
            queued = submit(client, image).json()
            wait_for(client, running["id"], statuses=("PROCESSING",))
            stream = pool.submit(read_named_events, client, running["id"])
            deadline = time.monotonic() + 10
            while not service.events.has_subscribers(running["id"]):
                assert time.monotonic() < deadline
                time.sleep(0.02)
            client.blocking_portal.call(service.stop)  # what SIGTERM starts
            events = stream.result(timeout=10)
            for task in (running, queued):
                view = client.get(f"{TASKS}/{task['id']}").json()
                assert (view["status"], view["attempts"]) == ("PENDING", 0)
    assert events[0] == ("task", {"id": running["id"], "status": "PROCESSING", "progress": 10})
    name, last = events[-1]
    assert name == "shutdown" and last["status"] == "PENDING" and last["message"]
    with TestClient(create_app(any_queue_settings)) as client:  # the restart
        for task in (running, queued):
            view = wait_for(client, task["id"])
            assert (view["status"], view["attempts"]) == ("COMPLETED", 1)
            assert [r["outcome"] for r in usage_of(client, task["id"])] == ["success"]


@contextmanager
def always_unavailable() -> Iterator[tuple[str, list[float]]]:
    """A callback receiver that answers every POST 503; yields its URL and the POST times."""
    posts: list[float] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            posts.append(time.monotonic())
            self.send_response(503)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hook", posts
    finally:
        server.shutdown()
        server.server_close()


def test_a_stop_drops_callbacks_waiting_to_retry_after_a_short_grace(local_settings, image):
    slow_retries = {"webhook_backoff_s": 60.0, "webhook_max_total_s": 600.0}
    settings = local_settings(fetch={"allow_private_networks": True}, tasks=slow_retries)
    app = create_app(settings)
    with always_unavailable() as (url, posts), structlog.testing.capture_logs() as logs:
        with TestClient(app) as client:
            task = submit(client, image, callback_url=url).json()
            assert wait_for(client, task["id"])["status"] == "COMPLETED"
            deadline = time.monotonic() + 10
            while not posts:  # the first attempt failed; the next one is a minute away
                assert time.monotonic() < deadline
                time.sleep(0.05)
            runner = service_of(client, app).runner
            stop = partial(runner.stop, grace_s=0.2)
            client.blocking_portal.call(stop)
        assert len(posts) == 1
    dropped = [e for e in logs if e["event"] == "task.callbacks_dropped"]
    assert [e["count"] for e in dropped] == [1]


def test_a_stream_opened_after_the_stop_ends_at_once(local_settings, image):
    app = create_app(local_settings())
    with TestClient(app) as client, blocked_kernel(client, app):
        running = submit(client, image).json()
        queued = submit(client, image).json()
        wait_for(client, running["id"], statuses=("PROCESSING",))
        client.blocking_portal.call(service_of(client, app).stop)
        events = read_named_events(client, queued["id"])
    assert [name for name, _ in events] == ["task", "shutdown"]
    assert events[-1][1]["status"] == "PENDING"
