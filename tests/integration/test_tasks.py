"""The task API through the real app, the real kernel and u2netp."""

import asyncio
import io
import json
import threading
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.kernel.kernel import InferenceKernel
from center_api.tasks.domain import TaskStatus
from center_api.tasks.events_redis import RedisTaskEvents
from center_api.tasks.service import TaskService
from center_api.testing.cluster import free_port
from center_api.testing.tasks import FINAL, wait_for_task
from tests.conftest import assert_error, deep_merge, encode_png, subject_on_background
from tests.support.http_server import serve_routes
from tests.support.services import redis_url

TASKS = "/api/v1/tasks"


@pytest.fixture
def image() -> bytes:
    return encode_png(subject_on_background((240, 180))[0])


@pytest.fixture(params=["local", "saq"])
def queue_settings(request):
    """The same tests against both queue adapters; saq gets a fresh, purged queue name."""
    if request.param == "local":
        yield {"url": ""}
        return
    queue = {"url": redis_url(), "name": f"test-{uuid.uuid4().hex[:12]}"}
    yield queue
    asyncio.run(purge(queue))


async def purge(queue: dict) -> None:
    from center_api.tasks.queue.saq import SaqTaskQueue

    adapter = SaqTaskQueue(queue["url"], queue["name"], workers=1)
    await adapter.purge()
    await adapter.stop()


# Tests of several processes sharing one queue run on the SAQ backend only.
SHARED_QUEUE_ONLY = pytest.mark.parametrize("queue_settings", ["saq"], indirect=True)


@pytest.fixture
def task_settings(make_settings, tmp_path, queue_settings):
    def build(**sections):
        base = {
            "tasks": {"results_dir": str(tmp_path / "results"), "workers": 1},
            "inference": {"max_concurrent": 1},
            "queue": queue_settings,
            "cache": {"tasks": False},  # the same image is submitted again and must run again
        }
        return make_settings(**deep_merge(base, sections))

    return build


def submit(client, image: bytes, tool="cutout", **fields):
    files = {"file": ("a.png", image, "image/png"), "tool": (None, tool)}
    files |= {k: (None, v if isinstance(v, str) else json.dumps(v)) for k, v in fields.items()}
    return client.post(TASKS, files=files)


def wait_for(client, task_id: str, statuses=FINAL, seconds=30):
    return wait_for_task(client, task_id, timeout_s=seconds, statuses=statuses)


@contextmanager
def blocked_kernel(client, app):
    """Hold the only inference slot until the block exits (the next task waits in it)."""
    portal = client.blocking_portal
    kernel = portal.call(app.state.dishka_container.get, InferenceKernel)
    gate = threading.Event()
    holder = portal.start_task_soon(kernel.run, gate.wait)
    try:
        yield kernel
    finally:
        gate.set()
        holder.result(timeout=10)


def test_submit_events_and_result_match_the_sync_endpoint(task_settings, image):
    app = create_app(task_settings())
    with TestClient(app) as client, ThreadPoolExecutor(1) as pool:
        with blocked_kernel(client, app):
            first = submit(client, image).json()  # takes the only worker, waits for the slot
            response = submit(client, image, options={"format": "png"}, priority=0)
            assert response.status_code == 202
            assert response.headers["location"] == f"{TASKS}/{response.json()['id']}"
            task = response.json()
            assert task["status"] == "PENDING" and task["links"]["events"].endswith("/events")
            wait_for(client, first["id"], statuses=("PROCESSING",))
            events = pool.submit(read_events, client, task["id"])
            service = client.blocking_portal.call(app.state.dishka_container.get, TaskService)
            deadline = time.monotonic() + 10
            while not service.events.has_subscribers(task["id"]):  # the stream is open
                assert time.monotonic() < deadline
                time.sleep(0.02)
        received = events.result(timeout=30)
        statuses = [e["status"] for e in received]
        assert statuses[0] == "PENDING" and statuses[-1] == "COMPLETED"
        assert "PROCESSING" in statuses
        progress = [e["progress"] for e in received if "progress" in e]
        assert progress == sorted(progress) and progress[-1] == 100
        result = client.get(f"{TASKS}/{task['id']}/result")
        sync = client.post("/api/v1/cutout/segment", files={"file": ("a.png", image)})
        assert result.headers["content-type"] == "image/png"
        assert result.content == sync.content


def read_events(client, task_id: str) -> list[dict]:
    events = []
    with client.stream("GET", f"{TASKS}/{task_id}/events") as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                events.append(json.loads(line[5:]))
    return events


def test_cancel_a_pending_and_a_running_task(task_settings, image):
    app = create_app(task_settings())
    with TestClient(app) as client:
        with blocked_kernel(client, app):
            running = submit(client, image).json()
            pending = submit(client, image).json()
            wait_for(client, running["id"], statuses=("PROCESSING",))
            for task in (pending, running):
                response = client.delete(f"{TASKS}/{task['id']}")
                assert response.status_code == 200 and response.json()["status"] == "CANCELLED"
            assert_error(client.delete(f"{TASKS}/{pending['id']}"), 409, "BUSINESS_RULE_VIOLATION")
        time.sleep(0.5)
        for task in (pending, running):
            assert client.get(f"{TASKS}/{task['id']}").json()["status"] == "CANCELLED"
            assert_error(client.get(f"{TASKS}/{task['id']}/result"), 409, "BUSINESS_RULE_VIOLATION")


def test_pause_and_resume(task_settings, image):
    app = create_app(task_settings())
    with TestClient(app) as client:
        with blocked_kernel(client, app):
            submit(client, image)
            task = submit(client, image).json()
            assert client.put(f"{TASKS}/{task['id']}/pause").json()["status"] == "PAUSED"
            again = client.put(f"{TASKS}/{task['id']}/pause")  # pausing twice changes nothing
            assert (again.status_code, again.json()["status"]) == (200, "PAUSED")
        time.sleep(0.5)
        assert client.get(f"{TASKS}/{task['id']}").json()["status"] == "PAUSED"
        resumed = client.put(f"{TASKS}/{task['id']}/resume").json()["status"]
        # A free worker may take it at once.
        assert resumed in ("PENDING", "PROCESSING", "COMPLETED")
        assert wait_for(client, task["id"])["status"] == "COMPLETED"


def test_higher_priority_runs_first_and_fifo_within_a_priority(task_settings, image):
    app = create_app(task_settings())
    with TestClient(app) as client:
        with blocked_kernel(client, app):
            blocker = submit(client, image).json()
            wait_for(client, blocker["id"], statuses=("PROCESSING",))
            order = [("low-1", -5), ("mid", 0), ("high", 9), ("low-2", -5)]
            ids = {name: submit(client, image, priority=str(p)).json()["id"] for name, p in order}
        views = {name: wait_for(client, task_id) for name, task_id in ids.items()}
        started = sorted(views, key=lambda name: views[name]["started_at"])
        assert started == ["high", "mid", "low-1", "low-2"]


def test_a_batch_of_ten_reports_progress_and_zips_ten_results(task_settings, image):
    with TestClient(create_app(task_settings(tasks={"workers": 2}))) as client:
        files = [("files", (f"{i}.png", image, "image/png")) for i in range(10)]
        response = client.post(f"{TASKS}/batch", files=[*files, ("tool", (None, "cutout"))])
        assert response.status_code == 202, response.text
        batch = response.json()
        children = batch["children"]
        assert children["total"] == 10
        assert children.get("PENDING", 0) + children.get("PROCESSING", 0) == 10
        seen = set()
        while (view := client.get(f"{TASKS}/{batch['id']}").json())["status"] not in (
            "COMPLETED",
            "FAILED",
        ):
            seen.add(view["progress"])
            time.sleep(0.05)
        assert view["progress"] == 100 and view["children"] == {"total": 10, "COMPLETED": 10}
        assert any(0 < p < 100 for p in seen)
        archive = zipfile.ZipFile(io.BytesIO(client.get(f"{TASKS}/{batch['id']}/result").content))
        assert archive.namelist()[:-1] == [f"{i}.png" for i in range(10)]
        assert all(archive.read(f"{i}.png")[:4] == b"\x89PNG" for i in range(10))
        manifest = json.loads(archive.read("manifest.json"))
        assert [item["input_name"] for item in manifest["items"]] == [f"{i}.png" for i in range(10)]


def test_a_bad_input_fails_with_its_code_and_is_not_retried(task_settings, image):
    with TestClient(create_app(task_settings())) as client:
        # Not an image at all: refused at submission, from its (missing) header.
        assert_error(submit(client, b"not an image at all"), 422, "INVALID_IMAGE")
        # A sound header over corrupt pixel data is only found out when the task runs.
        task = submit(client, image[: len(image) // 2]).json()
        view = wait_for(client, task["id"])
        assert view["status"] == "FAILED"
        assert view["error"]["code"] == "INVALID_IMAGE"
        assert view["attempts"] == 1


def test_submission_errors(task_settings, image):
    settings = task_settings(slices={"cutout": {"enabled": True}})
    with TestClient(create_app(settings)) as client:
        assert_error(submit(client, image, tool="nope"), 422, "VALIDATION_ERROR")
        assert_error(submit(client, image, tool="tools"), 422, "VALIDATION_ERROR")
        assert_error(submit(client, image, options="{not json"), 422, "VALIDATION_ERROR")
        bad = submit(client, image, options={"format": "gif"})
        assert_error(bad, 422, "VALIDATION_ERROR")
        assert_error(client.post(TASKS, files={"tool": (None, "cutout")}), 422, "MISSING_SOURCE")
        assert_error(client.get(f"{TASKS}/not-a-uuid"), 404, "TASK_NOT_FOUND")
        assert_error(
            client.get(f"{TASKS}/00000000-0000-0000-0000-000000000000"), 404, "TASK_NOT_FOUND"
        )
        listing = client.get(TASKS, params={"status": "FAILED", "tool": "cutout"}).json()
        assert listing["total"] == 0
    off = task_settings(slices={"cutout": {"enabled": False}})
    with TestClient(create_app(off)) as client:
        assert_error(submit(client, image), 404, "FEATURE_DISABLED")


def test_a_full_task_queue_answers_503(task_settings, image):
    app = create_app(task_settings(tasks={"max_pending": 2, "workers": 1}))
    with TestClient(app) as client, blocked_kernel(client, app):
        first = submit(client, image).json()
        wait_for(client, first["id"], statuses=("PROCESSING",))
        assert submit(client, image).status_code == 202
        assert submit(client, image).status_code == 202
        body = assert_error(submit(client, image), 503, "SERVICE_OVERLOADED")
        assert body["error"]["details"]["max_pending"] == 2


def test_callback_url_receives_the_final_status(task_settings, image):
    posts: list[tuple[str, bytes]] = []
    with serve_routes({}, posts) as base:
        allowed = task_settings(fetch={"allow_private_networks": True})
        with TestClient(create_app(allowed)) as client:
            task = submit(client, image, callback_url=f"{base}/hook").json()
            assert wait_for(client, task["id"])["status"] == "COMPLETED"
            deadline = time.monotonic() + 10
            delivery = None
            while delivery is None and time.monotonic() < deadline:
                time.sleep(0.05)
                delivery = client.get(f"{TASKS}/{task['id']}").json()["callback"]["status"]
            callback = client.get(f"{TASKS}/{task['id']}").json()["callback"]
            assert callback["status"] == "204" and callback["attempts"] == 1
        with TestClient(create_app(task_settings())) as client:
            refused = submit(client, image, callback_url=f"{base}/hook")
            assert_error(refused, 422, "URL_NOT_ALLOWED")
    assert len(posts) == 1
    path, body = posts[0]
    payload = json.loads(body)
    assert path == "/hook"
    assert payload["id"] == task["id"] and payload["status"] == "COMPLETED"
    assert payload["result"] == f"{TASKS}/{task['id']}/result"


def test_tasks_write_usage_rows_with_their_task_id(task_settings, image):
    # No flush runs during the test: a task's row is written with its completion.
    settings = task_settings(usage={"flush_interval_s": 3600})
    with TestClient(create_app(settings)) as client:
        task = submit(client, image).json()
        wait_for(client, task["id"])
        rows = client.get("/api/v1/tools/usage").json()["items"]
        assert [r["task_id"] for r in rows if r["task_id"]] == [task["id"]]
        stats = client.get("/api/v1/stats").json()
        assert (
            stats["tasks_by_status"]["COMPLETED"] == 1 and "u2netp-int8" in stats["loaded_models"]
        )


@SHARED_QUEUE_ONLY
def test_an_api_role_only_enqueues_and_another_process_runs_the_task(
    task_settings, queue_settings, image
):
    api = create_app(task_settings(server={"role": "api"}))
    worker = create_app(task_settings(server={"role": "worker"}))
    with TestClient(api) as client:
        task = submit(client, image).json()
        time.sleep(1.0)
        assert client.get(f"{TASKS}/{task['id']}").json()["status"] == "PENDING"
        assert client.get("/api/v1/stats").json()["queue_depth"] >= 1
        with TestClient(worker):  # same database and queue, as on another machine
            assert wait_for(client, task["id"])["status"] == "COMPLETED"
        assert client.get(f"{TASKS}/{task['id']}/result").content[:4] == b"\x89PNG"


def service_of(client, app) -> TaskService:
    return client.blocking_portal.call(app.state.dishka_container.get, TaskService)


@SHARED_QUEUE_ONLY
def test_events_and_cancels_reach_across_processes(task_settings, queue_settings, image):
    api = create_app(task_settings(server={"role": "api"}))
    worker = create_app(task_settings(server={"role": "worker"}))
    with (
        TestClient(api) as client,
        TestClient(worker) as worker_client,
        ThreadPoolExecutor(1) as pool,
    ):
        with blocked_kernel(worker_client, worker):  # the task waits on the worker for a slot
            task = submit(client, image).json()
            wait_for(client, task["id"], statuses=("PROCESSING",))
            events = pool.submit(read_events, client, task["id"])
            deadline = time.monotonic() + 10
            while not service_of(client, api).events.has_subscribers(task["id"]):
                assert time.monotonic() < deadline
                time.sleep(0.02)
        # Published by the worker, streamed by the API: well before the stream's own 15 s re-read.
        received = events.result(timeout=8)
        assert received[0]["status"] == "PROCESSING"
        assert received[-1] == {"id": task["id"], "status": "COMPLETED", "progress": 100}

        runner = service_of(worker_client, worker).runner
        with blocked_kernel(worker_client, worker):
            running = submit(client, image).json()
            wait_for(client, running["id"], statuses=("PROCESSING",))
            assert running["id"] in runner.running
            assert client.delete(f"{TASKS}/{running['id']}").json()["status"] == "CANCELLED"
            deadline = time.monotonic() + 10
            while running["id"] in runner.running:  # the worker stopped the run
                assert time.monotonic() < deadline
                time.sleep(0.02)
        time.sleep(0.5)
        assert client.get(f"{TASKS}/{running['id']}").json()["status"] == "CANCELLED"
        rows = client.get("/api/v1/tools/usage").json()["items"]
        assert running["id"] not in [r["task_id"] for r in rows]


@SHARED_QUEUE_ONLY
def test_a_dead_workers_task_is_taken_back_once_its_heartbeat_is_stale(
    task_settings, queue_settings, image
):
    beats = {"heartbeat_s": 0.2, "stale_after_s": 6.0}
    api = create_app(task_settings(server={"role": "api"}, tasks=beats))
    with TestClient(api) as client:
        store = service_of(client, api).store
        dead, alive = submit(client, image).json(), submit(client, image).json()
        asyncio.run(purge(queue_settings))  # a claimed task's job has left the queue
        long_ago = datetime.now(UTC) - timedelta(minutes=5)
        for task, beat in ((dead, long_ago), (alive, datetime.now(UTC))):
            # As a worker that claimed the task and then vanished would leave it.
            assert client.blocking_portal.call(
                partial(
                    store.transition,
                    task["id"],
                    TaskStatus.PROCESSING,
                    started_at=beat,
                    heartbeat_at=beat,
                    attempts=1,
                )
            )
        beaten = time.monotonic()
        worker = create_app(task_settings(server={"role": "worker"}, tasks=beats))
        with TestClient(worker):
            assert wait_for(client, dead["id"])["status"] == "COMPLETED"
            # The live-looking one is left alone until its heartbeat is stale, then recovered.
            view = client.get(f"{TASKS}/{alive['id']}").json()
            if time.monotonic() - beaten < beats["stale_after_s"] - 1:  # else stale by now
                assert (view["status"], view["attempts"]) == ("PROCESSING", 1)
            assert wait_for(client, alive["id"])["status"] == "COMPLETED"
        for task in (dead, alive):
            assert client.get(f"{TASKS}/{task['id']}").json()["attempts"] == 2


@SHARED_QUEUE_ONLY
def test_a_running_task_keeps_its_row_alive_past_the_stale_limit(
    task_settings, queue_settings, image
):
    beats = {"heartbeat_s": 0.2, "stale_after_s": 1.0}
    api = create_app(task_settings(server={"role": "api"}, tasks=beats))
    worker = create_app(task_settings(server={"role": "worker"}, tasks=beats))
    with TestClient(api) as client, TestClient(worker) as worker_client:
        with blocked_kernel(worker_client, worker):  # the run lasts well past stale_after_s
            task = submit(client, image).json()
            wait_for(client, task["id"], statuses=("PROCESSING",))
            time.sleep(3.0)
        view = wait_for(client, task["id"])
        assert (view["status"], view["attempts"]) == ("COMPLETED", 1)


def test_events_still_reach_this_processs_watchers_while_redis_is_down():
    async def scenario():
        events = RedisTaskEvents(f"redis://127.0.0.1:{free_port()}/0", "test")
        await events.start()
        try:
            queue = events.subscribe("t1")
            events.publish("t1", {"id": "t1", "status": "PROCESSING"})
            return await asyncio.wait_for(queue.get(), timeout=5)
        finally:
            await events.stop()

    assert asyncio.run(scenario()) == {"id": "t1", "status": "PROCESSING"}
