"""A task's progress names the kernel's phases: queued, decode, infer, compose, encode.

Through the real app, kernel and u2netp; the events are the ones the runner publishes (what
SSE and WebSocket watchers receive).
"""

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.kernel.kernel import InferenceKernel
from center_api.tasks.service import TaskService
from center_api.testing import wait_for_task
from tests.conftest import encode_png, subject_on_background

TASKS = "/api/v1/tasks"
PHASES = ["queued", "decode", "infer", "compose", "encode"]


@pytest.fixture
def client(make_settings, tmp_path) -> Iterator[TestClient[Litestar]]:
    settings = make_settings(
        tasks={"results_dir": str(tmp_path / "results"), "workers": 1},
        inference={"max_concurrent": 1},
        cache={"tasks": False},
    )
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def image() -> bytes:
    return encode_png(subject_on_background((240, 180))[0])


@contextmanager
def recorded_events(client: TestClient[Litestar]) -> Iterator[list[dict[str, Any]]]:
    """Every event the runner publishes while the block runs."""
    service = client.blocking_portal.call(client.app.state.dishka_container.get, TaskService)
    events: list[dict[str, Any]] = []
    service.events.add_listener(lambda task_id, event: events.append(event))
    yield events


@contextmanager
def held_slot(client: TestClient[Litestar]) -> Iterator[None]:
    """Hold the only inference slot until the block exits (a task's job queues meanwhile)."""
    portal = client.blocking_portal
    kernel = portal.call(client.app.state.dishka_container.get, InferenceKernel)
    gate = threading.Event()
    holder = portal.start_task_soon(kernel.run, gate.wait)
    try:
        yield
    finally:
        gate.set()
        holder.result(timeout=10)


def submit(client: TestClient[Litestar], image: bytes, tool: str, options: dict) -> str:
    files = {
        "file": ("a.png", image, "image/png"),
        "tool": (None, tool),
        "options": (None, json.dumps(options)),
    }
    response = client.post(TASKS, files=files)
    assert response.status_code == 202, response.text
    return response.json()["id"]


def of_task(events: list[dict[str, Any]], task_id: str) -> list[dict[str, Any]]:
    return [event for event in events if event["id"] == task_id]


def test_a_cutout_task_reports_each_phase_in_order_with_rising_progress(client, image):
    with recorded_events(client) as events:
        with held_slot(client):
            task_id = submit(client, image, "cutout", {"format": "png"})
            deadline = time.monotonic() + 30
            while not any(e.get("stage") == "queued" for e in of_task(events, task_id)):
                assert time.monotonic() < deadline, events
                time.sleep(0.02)
        view = wait_for_task(client, task_id)
    assert view["status"] == "COMPLETED", view
    mine = of_task(events, task_id)
    staged = [event for event in mine if "stage" in event]
    assert [event["stage"] for event in staged] == PHASES
    percents = [event["progress"] for event in staged]
    assert percents == sorted(set(percents)), percents  # rising, every one a new value
    assert percents[0] >= 10 and percents[-1] < 100
    assert len([p for p in percents if 10 < p < 100]) >= 3  # intermediate values
    assert mine[-1]["status"] == "COMPLETED" and mine[-1]["progress"] == 100
    # The synchronous call gives the same bytes (it reports nowhere, and is otherwise the same).
    result = client.get(f"{TASKS}/{task_id}/result").content
    sync = client.post("/api/v1/cutout/segment", files={"file": ("a.png", image)}, data={})
    assert sync.status_code == 200 and sync.content == result


def test_a_pipeline_task_keeps_its_step_stages_and_never_goes_back(client, image):
    steps = [{"tool": "cutout"}, {"tool": "cutout", "channels": "alpha"}]
    with recorded_events(client) as events:
        task_id = submit(client, image, "process", {"steps": steps})
        view = wait_for_task(client, task_id)
    assert view["status"] == "COMPLETED", view
    staged = [event for event in of_task(events, task_id) if "stage" in event]
    stages = [event["stage"] for event in staged]
    assert stages[0] == "step 1/2: cutout" and stages[-1] == "done", stages
    assert all(stage.startswith(("step ", "done")) for stage in stages), stages
    percents = [event["progress"] for event in staged]
    assert percents == sorted(percents), percents
