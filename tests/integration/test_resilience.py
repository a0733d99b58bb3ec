"""Faults answer their own code, never a bare 500: a read-only or unreachable database, a lost
Redis, a full or slow inference queue, a job past its timeout."""

import asyncio
import shutil
import threading
import time
from contextlib import contextmanager

import numpy as np
import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.core.errors import InferenceTimeoutError
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.kernel import InferenceKernel
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import JobAbandonedError
from center_api.testing.cluster import free_port
from tests.conftest import assert_error, encode_png, subject_on_background
from tests.integration.test_security import make_key

SEGMENT = "/api/v1/cutout/segment"
TASKS = "/api/v1/tasks"
SMALL = encode_png(subject_on_background((160, 120))[0])
FILES = {"file": ("a.png", SMALL, "image/png")}


@pytest.fixture
def read_only_database(tmp_path, migrated_sqlite):
    """A migrated SQLite file opened read-only (as root, file modes would not stop writes)."""
    path = tmp_path / "ro.db"
    shutil.copyfile(migrated_sqlite, path)
    return path, f"sqlite+aiosqlite:///file:{path}?mode=ro&uri=true"


def test_a_read_only_database_answers_503_and_leaves_no_files(
    make_settings, read_only_database, tmp_path
):
    _, url = read_only_database
    results = tmp_path / "results"
    settings = make_settings(database={"url": url}, tasks={"results_dir": str(results)})
    with TestClient(create_app(settings)) as client:
        health = client.get("/api/v1/health")
        assert health.status_code == 503
        assert health.json()["checks"]["database"]["ok"] is False
        assert "readonly" not in health.text and "UPDATE" not in health.text
        files = {**FILES, "tool": (None, "cutout")}
        body = assert_error(client.post(TASKS, files=files), 503, "DATABASE_ERROR")
        assert "sqlite" not in str(body).lower()
        assert not [p for p in results.rglob("*") if p.is_file()]  # no orphan input
        # A synchronous call needs no write to answer; its usage row waits in the buffer.
        assert client.post(SEGMENT, files=FILES).status_code == 200


def test_a_read_only_database_refuses_keyed_calls_with_503(make_settings, read_only_database):
    path, url = read_only_database
    writable = make_settings(database={"url": f"sqlite+aiosqlite:///{path}"})
    _, token = make_key(writable, name="app", quota_calls=10)
    settings = make_settings(database={"url": url}, auth={"mode": "api_key"})
    with TestClient(create_app(settings)) as client:
        response = client.post(SEGMENT, files=FILES, headers={"X-API-Key": token})
        assert_error(response, 503, "DATABASE_ERROR")
        assert response.headers["retry-after"]


def test_an_unreachable_database_is_503_and_health_still_answers(make_settings):
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none"
    settings = make_settings(
        database={"url": url, "migrate_on_start": False}, auth={"mode": "api_key"}
    )
    fake = "ck_000000000000_" + "x" * 43
    with TestClient(create_app(settings)) as client:
        assert_error(client.get(TASKS, headers={"X-API-Key": fake}), 503, "DATABASE_ERROR")
        assert_error(client.post(SEGMENT, files=FILES), 401, "AUTHENTICATION_ERROR")
        for headers in ({}, {"X-API-Key": fake}):
            health = client.get("/api/v1/health", headers=headers)
            assert health.status_code == 503
            assert set(health.json()) == {"status", "version", "ready"}


def test_a_stopped_redis_answers_503_queue_error(make_settings, tmp_path):
    settings = make_settings(
        queue={"url": f"redis://127.0.0.1:{free_port()}/0"},
        tasks={"results_dir": str(tmp_path / "results")},
    )
    with TestClient(create_app(settings)) as client:
        files = {**FILES, "tool": (None, "cutout")}
        assert_error(client.post(TASKS, files=files), 503, "QUEUE_ERROR")
        # Image calls do not need the queue (rate limits fall back to this process).
        assert client.post(SEGMENT, files=FILES).status_code == 200


@contextmanager
def held_slot(client, app):
    """Hold the only inference slot until the block exits."""
    portal = client.blocking_portal
    kernel = portal.call(app.state.dishka_container.get, InferenceKernel)
    gate = threading.Event()
    holder = portal.start_task_soon(kernel.run, gate.wait)
    try:
        yield kernel
    finally:
        gate.set()
        holder.result(timeout=10)


def test_a_call_that_waited_too_long_for_a_slot_gets_503_with_retry_after(make_settings):
    settings = make_settings(inference={"max_concurrent": 1, "max_queue_wait_s": 0.3})
    app = create_app(settings)
    with TestClient(app) as client:
        with held_slot(client, app):
            response = client.post(SEGMENT, files=FILES)
            body = assert_error(response, 503, "SERVICE_OVERLOADED")
            assert int(response.headers["retry-after"]) >= 1
            assert body["error"]["details"]["running"] == 1
        assert client.post(SEGMENT, files=FILES).status_code == 200


def test_a_sync_call_past_the_timeout_gets_504_and_frees_its_slot(make_settings):
    big = encode_png(subject_on_background((3000, 2000))[0])
    settings = make_settings(inference={"max_concurrent": 1, "timeout_s": 0.05})
    app = create_app(settings)
    with TestClient(app) as client:
        files = {"file": ("big.png", big, "image/png")}
        body = assert_error(client.post(SEGMENT, files=files), 504, "TIMEOUT")
        assert body["error"]["details"]["timeout_s"] == 0.05
        kernel = client.blocking_portal.call(app.state.dishka_container.get, InferenceKernel)
        deadline = time.monotonic() + 60  # bounded, and generous on a loaded machine
        while kernel.scheduler.active and time.monotonic() < deadline:
            time.sleep(0.02)
        assert kernel.scheduler.active == 0  # the abandoned job ended and gave its slot back


def test_an_abandoned_job_stops_at_its_next_model_call(model_dir):
    """The scheduler's timeout stops a job that keeps calling the model (ORT's terminate)."""
    store = ModelStore.from_directory(model_dir)
    settings = InferenceSettings(max_concurrent=1, timeout_s=0.2)
    kernel = InferenceKernel(store, settings, Metrics())
    calls: list[str] = []

    def many_runs() -> None:
        model = kernel.model("u2netp")
        feeds = {model.input_names[0]: np.zeros((1, 3, 320, 320), dtype=np.float32)}
        for _ in range(200):  # about 10 s of work if nothing stopped it
            try:
                model.run(feeds)
            except JobAbandonedError:
                calls.append("abandoned")
                raise
            calls.append("ran")

    async def scenario() -> int:
        kernel.model("u2netp")  # loaded outside the timed job
        with pytest.raises(InferenceTimeoutError):
            await kernel.run(many_runs)
        at_timeout = len(calls)
        while kernel.scheduler.active:  # noqa: ASYNC110 - polling a counter of another thread
            await asyncio.sleep(0.01)
        await kernel.close()
        return at_timeout

    at_timeout = asyncio.run(scenario())
    # Counted in model calls, not seconds (a loaded machine stretches both alike): once timed
    # out, at most the call already under way finishes, and the next one is refused.
    assert calls[-1] == "abandoned" and calls.count("ran") < 100
    assert calls[at_timeout:-1].count("ran") <= 1
