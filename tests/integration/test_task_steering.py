"""Pausing running work at its checkpoints, resuming it without redoing anything."""

import json
import time
import uuid

import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from tests.conftest import assert_error, encode_png, subject_on_background
from tests.support.services import redis_url
from tests.support.steps_slice import NAME, gate, steps_app_args, steps_settings

TASKS = "/api/v1/tasks"


@pytest.fixture
def steps_client(make_settings, tmp_path, monkeypatch):
    settings = steps_settings(make_settings, tmp_path)
    with TestClient(create_app(settings, **steps_app_args(monkeypatch))) as client:
        yield client


@pytest.fixture
def png(request) -> bytes:
    return distinct_png(100 + len(request.node.name) % 50)


def distinct_png(index: int) -> bytes:
    """A different image each time (identical inputs could be answered from a result cache)."""
    return encode_png(subject_on_background((32 + index, 24))[0])


def view(client, task_id: str) -> dict:
    return client.get(f"{TASKS}/{task_id}").json()


def wait_until(client, task_id: str, *statuses: str, seconds: float = 15) -> dict:
    deadline = time.monotonic() + seconds
    while (current := view(client, task_id))["status"] not in statuses:
        assert time.monotonic() < deadline, current
        time.sleep(0.02)
    return current


def test_a_running_task_pauses_at_its_next_checkpoint_and_resumes_there(steps_client, png):
    client, steps = steps_client, gate()
    options = json.dumps({"steps": 5})
    files = {"file": ("a.png", png, "image/png"), "tool": (None, NAME), "options": (None, options)}
    task = client.post(TASKS, files=files).json()
    steps.allow(2)
    deadline = time.monotonic() + 15
    while (paused := client.put(f"{TASKS}/{task['id']}/pause")).status_code == 409:
        assert time.monotonic() < deadline, paused.text  # pausable from its first checkpoint on
        time.sleep(0.02)
    assert paused.json()["status"] == "PAUSING"
    steps.allow(10)  # step 3 runs, its checkpoint pauses the work
    held = wait_until(client, task["id"], "PAUSED")
    assert held["attempts"] == 0 and held["stage"].startswith("step ")
    time.sleep(0.3)
    ran = [index for _, index in steps.ran]
    assert ran == [0, 1, 2]
    assert client.put(f"{TASKS}/{task['id']}/resume").json()["status"] in ("PENDING", "PROCESSING")
    assert wait_until(client, task["id"], "COMPLETED", "FAILED")["status"] == "COMPLETED"
    assert [index for _, index in steps.ran] == [0, 1, 2, 3, 4]  # nothing done twice
    assert client.get(f"{TASKS}/{task['id']}/result").json() == [0, 1, 2, 3, 4]


def test_a_running_task_without_checkpoints_will_finish_first(steps_client, png):
    client, steps = steps_client, gate()
    options = json.dumps({"steps": 1, "checkpoints": False})
    files = {"file": ("a.png", png, "image/png"), "tool": (None, NAME), "options": (None, options)}
    task = client.post(TASKS, files=files).json()
    wait_until(client, task["id"], "PROCESSING")
    body = assert_error(client.put(f"{TASKS}/{task['id']}/pause"), 409, "TASK_NOT_PAUSABLE")
    assert "finish first" in body["error"]["message"]
    steps.allow(1)
    assert wait_until(client, task["id"], "COMPLETED")["attempts"] == 1


def test_pausing_a_running_batch_stops_children_from_starting(steps_client, png):
    client, steps = steps_client, gate()
    files = [("files", (f"{i}.png", distinct_png(i), "image/png")) for i in range(4)]
    options = json.dumps({"steps": 1, "checkpoints": False})
    form = [*files, ("tool", (None, NAME)), ("options", (None, options))]
    batch = client.post(f"{TASKS}/batch", files=form).json()
    wait_until(client, batch["id"], "PROCESSING")  # the first child runs, held at the gate
    pausing = client.put(f"{TASKS}/{batch['id']}/pause").json()
    assert pausing["status"] == "PAUSING"
    assert pausing["children"] == {"total": 4, "PROCESSING": 1, "PAUSED": 3}
    steps.allow(100)  # the running child finishes; no other may start
    paused = wait_until(client, batch["id"], "PAUSED")
    assert paused["children"] == {"total": 4, "COMPLETED": 1, "PAUSED": 3}
    time.sleep(0.5)
    assert len(steps.ran) == 1
    assert view(client, batch["id"])["status"] == "PAUSED"
    client.put(f"{TASKS}/{batch['id']}/resume")
    done = wait_until(client, batch["id"], "COMPLETED", "FAILED")
    assert done["status"] == "COMPLETED" and done["children"] == {"total": 4, "COMPLETED": 4}
    assert len(steps.ran) == 4 and len({task_id for task_id, _ in steps.ran}) == 4  # each once


def test_a_pause_asked_of_an_api_process_reaches_the_worker_running_the_task(
    make_settings, tmp_path, monkeypatch, png
):
    """Through Redis: the API process only enqueues; the worker pauses at its checkpoint."""
    queue = {"url": redis_url(), "name": f"test-{uuid.uuid4().hex[:12]}"}
    app_args = steps_app_args(monkeypatch)
    api_settings = steps_settings(make_settings, tmp_path, server={"role": "api"}, queue=queue)
    api = create_app(api_settings, **app_args)
    worker_settings = steps_settings(
        make_settings, tmp_path, server={"role": "worker"}, queue=queue
    )
    worker = create_app(worker_settings, **app_args)
    with TestClient(api) as client, TestClient(worker):
        files = {"file": ("a.png", png, "image/png"), "tool": (None, NAME)}
        task = client.post(TASKS, files={**files, "options": (None, '{"steps": 4}')}).json()
        gate().allow(1)
        wait_until(client, task["id"], "PROCESSING")  # claimed by the worker
        deadline = time.monotonic() + 15
        while (paused := client.put(f"{TASKS}/{task['id']}/pause")).status_code == 409:
            assert time.monotonic() < deadline, paused.text
            time.sleep(0.02)
        gate().allow(10)
        assert wait_until(client, task["id"], "PAUSED")["status"] == "PAUSED"
        assert [index for _, index in gate().ran] == [0, 1]
        client.put(f"{TASKS}/{task['id']}/resume")
        assert wait_until(client, task["id"], "COMPLETED")["status"] == "COMPLETED"
        assert [index for _, index in gate().ran] == [0, 1, 2, 3]
