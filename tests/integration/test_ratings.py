"""Ratings of results: tasks and synchronous calls, one per owner and result, in the stats."""

import json
import time
from functools import partial

import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from tests.conftest import assert_error, encode_png, subject_on_background
from tests.integration.test_security import make_key
from tests.support.steps_slice import NAME, gate, steps_app_args, steps_settings

TASKS = "/api/v1/tasks"
SEGMENT = "/api/v1/cutout/segment"
PNG = encode_png(subject_on_background((64, 48))[0])


def finished_task(client, headers=None) -> str:
    options = json.dumps({"steps": 1})
    files = {"file": ("a.png", PNG, "image/png"), "tool": (None, NAME), "options": (None, options)}
    task = client.post(TASKS, files=files, headers=headers or {}).json()
    return task["id"]


def wait_completed(client, task_id: str, headers=None) -> None:
    deadline = time.monotonic() + 15
    while client.get(f"{TASKS}/{task_id}", headers=headers or {}).json()["status"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.02)


@pytest.fixture
def settings_for(make_settings, tmp_path):
    return partial(steps_settings, make_settings, tmp_path)


def test_a_task_is_rated_once_per_owner_and_the_rating_can_change(settings_for, monkeypatch):
    with TestClient(create_app(settings_for(), **steps_app_args(monkeypatch))) as client:
        task_id = finished_task(client)
        url = f"{TASKS}/{task_id}/rating"
        assert_error(client.post(url, json={"score": 4}), 409, "BUSINESS_RULE_VIOLATION")
        gate().allow(10)
        wait_completed(client, task_id)
        for bad in ({"score": 0}, {"score": 6}, {"score": "five"}, {}, {"score": 3, "x": 1}):
            assert_error(client.post(url, json=bad), 422, "VALIDATION_ERROR")
        assert client.post(url, json={"score": 3, "comment": "x" * 2001}).status_code == 422
        first = client.post(url, json={"score": 5, "comment": "sharp"}).json()
        assert (first["created"], first["score"], first["tool"]) == (True, 5, NAME)
        again = client.post(url, json={"score": 2, "comment": "edges"}).json()
        assert (again["created"], again["id"], again["score"]) == (False, first["id"], 2)
        stats = client.get("/api/v1/ratings/stats").json()
        assert stats == [{"tool": NAME, "model": None, "count": 1, "mean": 2.0}]
        low = client.get("/api/v1/ratings", params={"max_score": 2}).json()
        assert [(r["task_id"], r["comment"]) for r in low["items"]] == [(task_id, "edges")]
        assert client.get("/api/v1/ratings", params={"max_score": 1}).json()["total"] == 0
        assert_error(
            client.post(f"{TASKS}/{'0' * 8}-0000-7000-8000-{'0' * 12}/rating", json={"score": 1}),
            404,
            "TASK_NOT_FOUND",
        )


def test_feedback_rates_a_synchronous_call_by_request_id_with_its_model(make_settings):
    settings = make_settings(rate_limit={"enabled": False})
    with TestClient(create_app(settings)) as client:
        files = {"file": ("a.png", PNG, "image/png")}
        answer = client.post(SEGMENT, files=files, headers={"X-Request-ID": "rate-me-1"})
        assert answer.status_code == 200
        model = answer.headers["x-model"]
        broken = {"file": ("a.png", b"not an image", "image/png")}
        assert client.post(SEGMENT, files=broken, headers={"X-Request-ID": "bad-1"}).is_error
        rating = client.post("/api/v1/feedback", json={"request_id": "rate-me-1", "score": 4})
        assert rating.status_code == 200, rating.text
        assert (rating.json()["tool"], rating.json()["model"]) == ("cutout", model)
        assert_error(
            client.post("/api/v1/feedback", json={"request_id": "bad-1", "score": 1}),
            409,
            "BUSINESS_RULE_VIOLATION",
        )
        assert_error(
            client.post("/api/v1/feedback", json={"request_id": "never", "score": 1}),
            404,
            "RESOURCE_NOT_FOUND",
        )
        report = client.get("/api/v1/tools/stats").json()
        cutout = next(t for t in report["tools"] if t["tool"] == "cutout")
        assert (cutout["count"], cutout["errors"], cutout["ratings"]) == (2, 1, 1)
        assert cutout["rating_mean"] == 4.0
        spread = cutout["duration_ms"]
        assert spread["min"] <= spread["p50"] <= spread["p95"] <= spread["max"]
        assert cutout["megapixels_per_call"]["max"] == pytest.approx(64 * 48 / 1e6, abs=1e-4)
        assert {"tool": "cutout", "model": model, "count": 1, "mean": 4.0} in report["ratings"]


def test_ratings_belong_to_their_owner(settings_for, monkeypatch):
    settings = settings_for(auth={"mode": "api_key"})
    _, alice = make_key(settings, name="alice", role="user")
    _, bob = make_key(settings, name="bob", role="user")
    alice_h, bob_h = {"X-API-Key": alice}, {"X-API-Key": bob}
    with TestClient(create_app(settings, **steps_app_args(monkeypatch))) as client:
        task_id = finished_task(client, alice_h)
        gate().allow(10)
        wait_completed(client, task_id, alice_h)
        url = f"{TASKS}/{task_id}/rating"
        assert_error(client.post(url, json={"score": 1}, headers=bob_h), 404, "TASK_NOT_FOUND")
        assert client.post(url, json={"score": 5}, headers=alice_h).status_code == 200
        assert client.get("/api/v1/ratings/stats", headers=bob_h).json() == []
        assert client.get("/api/v1/ratings/stats", headers=alice_h).json()[0]["count"] == 1
        assert client.get("/api/v1/ratings", headers=alice_h).status_code == 403
        assert client.post(url, json={"score": 5}).status_code == 401
