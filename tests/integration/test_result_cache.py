"""The result cache through the real app: X-Cache, no-cache, options, tenants, quotas, tasks."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.cache.results import ResultCache
from center_api.kernel.kernel import InferenceKernel
from center_api.testing import wait_for_task
from tests.conftest import assert_error, decode_png, encode_png, subject_on_background
from tests.integration.test_security import make_key

SEGMENT = "/api/v1/cutout/segment"
PNG = encode_png(subject_on_background((320, 240))[0])


def segment(client, data=PNG, headers=None, **fields):
    files = {"file": ("a.png", data, "image/png")}
    files |= {name: (None, str(value)) for name, value in fields.items()}
    return client.post(SEGMENT, files=files, headers=headers or {})


def inferences(client) -> int:
    kernel = client.blocking_portal.call(client.app.state.dishka_container.get, InferenceKernel)
    return kernel.sessions.stats.total


def test_a_repeat_is_a_hit_with_the_same_bytes_and_no_inference(client):
    first = segment(client, headers={"X-Request-ID": "first"})
    assert first.status_code == 200, first.text
    assert first.headers["x-cache"] == "MISS"
    ran = inferences(client)
    again = segment(client, headers={"X-Request-ID": "second"})
    assert again.status_code == 200
    assert again.headers["x-cache"] == "HIT"
    assert again.content == first.content
    assert again.headers["x-request-id"] == "second"  # the answer's own id, not the first one's
    assert again.headers["x-model"] == "u2netp-int8"
    assert inferences(client) == ran


def test_no_cache_recomputes_and_other_options_or_bytes_miss(client):
    assert segment(client).headers["x-cache"] == "MISS"
    ran = inferences(client)
    fresh = segment(client, headers={"Cache-Control": "no-cache"})
    assert fresh.headers["x-cache"] == "MISS"
    assert inferences(client) == ran + 1
    assert segment(client, channels="alpha").headers["x-cache"] == "MISS"
    assert segment(client, format="webp").headers["x-cache"] == "MISS"
    other = encode_png(subject_on_background((322, 240))[0])
    assert segment(client, data=other).headers["x-cache"] == "MISS"
    assert segment(client, format="webp").headers["x-cache"] == "HIT"


def test_json_answers_come_from_the_cache_with_their_own_request_id(client):
    segment(client)
    response = client.post(
        SEGMENT,
        files={"file": ("a.png", PNG, "image/png")},
        headers={"Accept": "application/json", "X-Request-ID": "json-one"},
    )
    body = response.json()
    assert body["metadata"]["cache"] == "HIT"
    assert body["request_id"] == "json-one"


def test_errors_are_not_cached(client):
    assert_error(segment(client, data=b"not an image"), 422, "INVALID_IMAGE")
    assert_error(segment(client, data=b"not an image"), 422, "INVALID_IMAGE")
    assert_error(segment(client, bg_color="nope"), 422, "VALIDATION_ERROR")


def test_cache_off_computes_every_time(make_settings):
    with TestClient(create_app(make_settings(cache={"backend": "off"}))) as client:
        segment(client)
        response = segment(client)
        assert "x-cache" not in response.headers
        assert inferences(client) == 2


@pytest.mark.parametrize("charge_hits", [True, False])
def test_hits_are_charged_only_when_configured(make_settings, charge_hits):
    settings = make_settings(auth={"mode": "api_key"}, cache={"charge_hits": charge_hits})
    _, token = make_key(settings, name="trial", quota_calls=2)
    headers = {"X-API-Key": token}
    with TestClient(create_app(settings)) as client:
        assert segment(client, headers=headers).headers["x-cache"] == "MISS"
        assert segment(client, headers=headers).headers["x-cache"] == "HIT"
        third = segment(client, headers=headers)
        if charge_hits:
            assert_error(third, 402, "INSUFFICIENT_QUOTA")
        else:
            assert third.headers["x-cache"] == "HIT"


def test_another_tenant_gets_the_hit_but_its_own_headers(make_settings):
    settings = make_settings(auth={"mode": "api_key"})
    _, alice = make_key(settings, name="alice", role="user", rate_per_minute=50)
    _, bob = make_key(settings, name="bob", role="user", rate_per_minute=7)
    with TestClient(create_app(settings)) as client:
        assert_error(segment(client), 401, "AUTHENTICATION_ERROR")  # no key: no hit either
        segment(client, headers={"X-API-Key": alice})
        assert_error(segment(client), 401, "AUTHENTICATION_ERROR")
        hit = segment(client, headers={"X-API-Key": bob})
        assert hit.headers["x-cache"] == "HIT"
        assert hit.headers["x-ratelimit-limit"] == "7"


def test_a_task_repeat_is_served_from_the_cache(client):
    def run_task() -> bytes:
        submitted = client.post(
            "/api/v1/tasks",
            files={"file": ("a.png", PNG, "image/png"), "tool": (None, "cutout")},
        )
        assert submitted.status_code == 202, submitted.text
        task_id = submitted.json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/v1/tasks/{task_id}").json()["status"] != "COMPLETED":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        return client.get(f"/api/v1/tasks/{task_id}/result").content

    first = run_task()
    ran = inferences(client)
    assert run_task() == first
    assert inferences(client) == ran
    assert decode_png(first)[..., 3].max() == 255


@pytest.mark.parametrize("charge_hits", [True, False])
def test_a_task_served_from_the_cache_is_charged_only_when_configured(make_settings, charge_hits):
    settings = make_settings(auth={"mode": "api_key"}, cache={"charge_hits": charge_hits})
    _, token = make_key(settings, name="tasks", quota_calls=2)
    with TestClient(create_app(settings)) as client:
        client.headers["X-API-Key"] = token
        form = {"file": ("a.png", PNG, "image/png"), "tool": (None, "cutout")}
        for _ in range(2):  # a miss, then a hit
            submitted = client.post("/api/v1/tasks", files=form)
            assert submitted.status_code == 202, submitted.text
            assert wait_for_task(client, submitted.json()["id"])["status"] == "COMPLETED"
        third = client.post("/api/v1/tasks", files=form)
        if charge_hits:
            assert_error(third, 402, "INSUFFICIENT_QUOTA")
        else:  # the hit gave its call back
            assert third.status_code == 202, third.text


def test_identical_concurrent_calls_compute_once(client):
    data = encode_png(subject_on_background((330, 250))[0])
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda _: segment(client, data=data), range(4)))
    assert [a.status_code for a in answers] == [200] * 4
    assert sorted(a.headers["x-cache"] for a in answers).count("MISS") >= 1
    assert len({a.content for a in answers}) == 1
    assert inferences(client) < 4
    assert np.array_equal(decode_png(answers[0].content), decode_png(answers[-1].content))


def test_the_cache_is_one_per_app(client):
    cache = client.blocking_portal.call(client.app.state.dishka_container.get, ResultCache)
    assert cache.is_enabled
    segment(client)
    assert len(cache.backend) == 1  # type: ignore[arg-type]


def test_pipeline_steps_share_results_with_tasks_and_repeats(client):
    steps = '[{"tool": "cutout"}, {"tool": "cutout", "channels": "alpha"}]'
    files = {"file": ("a.png", PNG, "image/png")}
    first = client.post("/api/v1/process/image", files=files, data={"steps": steps})
    assert first.status_code == 200, first.text
    ran = inferences(client)
    again = client.post("/api/v1/process/image", files=files, data={"steps": steps})
    assert again.status_code == 200
    assert again.content == first.content
    assert inferences(client) == ran  # both steps came from the cache
