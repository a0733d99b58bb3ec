"""The design's system routes: /api/v1/metrics beside /metrics; task gauges count tasks."""

import json
import re
import time

from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from tests.conftest import assert_error, encode_png, subject_on_background
from tests.integration.test_security import make_key
from tests.support.steps_slice import NAME, gate, steps_app_args, steps_settings

METRICS = "/api/v1/metrics"


def gauge(text: str, name: str) -> float:
    match = re.search(rf"^{name} (\S+)$", text, re.MULTILINE)
    assert match, name
    return float(match.group(1))


def wait_for_gauges(client, queued: int, running: int) -> str:
    """The metrics text once queue_size and active_tasks say so."""
    deadline = time.monotonic() + 15
    while True:
        text = client.get(METRICS).text
        if (gauge(text, "queue_size"), gauge(text, "active_tasks")) == (queued, running):
            return text
        assert time.monotonic() < deadline, text
        time.sleep(0.05)


def test_api_metrics_is_metrics_with_the_same_access_rule(make_settings):
    settings = make_settings(auth={"mode": "api_key"}, rate_limit={"enabled": False})
    _, admin = make_key(settings, name="admin", role="admin")
    _, user = make_key(settings, name="user", role="user")
    with TestClient(create_app(settings)) as client:
        assert_error(client.get(METRICS), 401, "AUTHENTICATION_ERROR")
        assert_error(client.get(METRICS, headers={"X-API-Key": user}), 403, "AUTHORIZATION_ERROR")
        scraped = client.get(METRICS, headers={"Authorization": f"Bearer {admin}"})
        assert scraped.status_code == 200
        assert scraped.headers["content-type"].startswith("text/plain")
        families = {line.split()[2] for line in scraped.text.splitlines() if line[:6] == "# TYPE"}
        root = client.get("/metrics", headers={"X-API-Key": admin}).text
        assert families == {line.split()[2] for line in root.splitlines() if line[:6] == "# TYPE"}
        assert {"queue_size", "active_tasks", "inference_queue_size"} <= families
    public = make_settings(auth={"mode": "api_key", "public_metrics": True})
    with TestClient(create_app(public)) as client:
        assert client.get(METRICS).status_code == 200


def test_queue_size_and_active_tasks_count_tasks(make_settings, tmp_path, monkeypatch):
    settings = steps_settings(make_settings, tmp_path)
    with TestClient(create_app(settings, **steps_app_args(monkeypatch))) as client:
        options = json.dumps({"steps": 1, "checkpoints": False})
        for index in range(3):
            image = encode_png(subject_on_background((30 + index, 20))[0])
            files = {"file": ("a.png", image), "tool": (None, NAME), "options": (None, options)}
            assert client.post("/api/v1/tasks", files=files).status_code == 202
        text = wait_for_gauges(client, queued=2, running=1)
        assert gauge(text, "inference_active_jobs") == 0  # the steps slice holds no slot
        gate().allow(10)
        wait_for_gauges(client, queued=0, running=0)
