"""The tools slice: catalog, usage records written off the response path, statistics."""

from importlib.metadata import EntryPoint

import numpy as np
import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from center_api.registry.spec import ENTRY_POINT_GROUP
from tests.conftest import assert_error, encode_png, subject_on_background

SEGMENT = "/api/v1/cutout/segment"


def test_catalog_lists_every_slice_with_status_routes_and_models(client):
    tools = {t["name"]: t for t in client.get("/api/v1/tools").json()["tools"]}
    cutout = tools["cutout"]
    assert cutout["status"] == "enabled" and cutout["is_builtin"] is True
    assert cutout["distribution"] == "center-api" and cutout["version"]
    assert {"path": SEGMENT, "methods": ["POST"]} in cutout["routes"]
    assert cutout["capabilities"] == {
        "produces": ["image"],
        "accepts_image": True,
        "supports_tasks": True,
        "takes_image": True,
        "gives_image": True,
        "takes_video": False,
    }
    default, full = cutout["models"]
    assert default == {
        "id": "u2netp-int8",
        "required": True,
        "state": "installed",
        "size": 1434147,
        "license": "Apache-2.0",
        "commercial_use": True,
    }
    assert (full["id"], full["required"], full["size"]) == ("u2netp", False, 4574861)
    assert tools["tools"]["status"] == "enabled"
    assert client.get("/api/v1/tools/cutout").json() == cutout
    assert_error(client.get("/api/v1/tools/nope"), 404, "RESOURCE_NOT_FOUND")


def test_a_third_party_slice_that_raises_on_import_is_listed_failed_and_the_rest_serve(
    make_settings, tmp_path, monkeypatch
):
    (tmp_path / "broken_plugin_mod.py").write_text("raise RuntimeError('plugin exploded')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    point = EntryPoint(name="broken", value="broken_plugin_mod:SLICE", group=ENTRY_POINT_GROUP)
    settings = make_settings(slices={"broken": {"enabled": True}})
    with TestClient(create_app(settings, entry_points=lambda: [point])) as client:
        broken = client.get("/api/v1/tools/broken").json()
        assert broken["status"] == "failed"
        assert "RuntimeError: plugin exploded" in broken["reason"]
        assert broken["routes"] == [] and broken["capabilities"] is None
        data = encode_png(subject_on_background()[0])
        assert client.post(SEGMENT, files={"file": ("a.png", data)}).status_code == 200


def _twenty_mixed_calls(client) -> list[int]:
    good = encode_png(subject_on_background((160, 120))[0])
    statuses = []
    for i in range(20):
        if i % 4 == 3:
            response = client.post(SEGMENT, files={"file": ("bad.png", b"not an image")})
        elif i % 4 == 2:
            response = client.post(SEGMENT, files={"file": ("a.png", good)}, data={"model": "x"})
        else:
            response = client.post(SEGMENT, files={"file": ("a.png", good)})
        statuses.append(response.status_code)
    client.get("/api/v1/tools")  # reading the catalog is not a metered call
    client.get("/api/v1/health")
    return statuses


def test_twenty_calls_make_twenty_rows_and_a_graceful_shutdown_loses_none(make_settings):
    # A long flush interval: nothing is written until the shutdown flush.
    settings = make_settings(usage={"flush_interval_s": 3600})
    app = create_app(settings)
    with TestClient(app) as client:
        statuses = _twenty_mixed_calls(client)
        assert client.get("/api/v1/tools/usage").json()["total"] == 0  # still buffered
    assert statuses.count(200) == 10 and statuses.count(422) == 10
    with TestClient(create_app(settings)) as client:
        page = client.get("/api/v1/tools/usage", params={"limit": 100}).json()
        assert page["total"] == 20
        rows = page["items"]
        assert sorted(r["status_code"] for r in rows) == sorted(statuses)
        assert {r["outcome"] for r in rows if r["status_code"] == 200} == {"success"}
        assert {r["outcome"] for r in rows if r["status_code"] == 422} == {"client_error"}
        errors = sorted(r["error_code"] for r in rows if r["error_code"])
        assert errors == ["INVALID_IMAGE"] * 5 + ["VALIDATION_ERROR"] * 5
        ok = [r for r in rows if r["outcome"] == "success"]
        assert all(r["megapixels"] == pytest.approx(0.0192) for r in ok)
        assert all(r["output_bytes"] > 0 and r["request_id"].startswith("req_") for r in ok)
        assert {r["tool"] for r in rows} == {"cutout"} and {r["caller"] for r in rows} == {
            "anonymous"
        }


def test_usage_filters_paginate_and_stats_match_a_hand_computation(make_settings):
    settings = make_settings(usage={"flush_interval_s": 0.05})
    with TestClient(create_app(settings)) as client:
        _twenty_mixed_calls(client)
    with TestClient(create_app(settings)) as client:
        everything = client.get("/api/v1/tools/usage", params={"limit": 100}).json()["items"]
        page = client.get("/api/v1/tools/usage", params={"limit": 7, "offset": 14}).json()
        assert (page["total"], len(page["items"])) == (20, 6)
        assert [r["id"] for r in page["items"]] == [r["id"] for r in everything[14:]]
        bad = client.get(
            "/api/v1/tools/usage", params={"tool": "cutout", "outcome": "client_error"}
        ).json()
        assert bad["total"] == 10
        assert client.get("/api/v1/tools/usage", params={"caller": "someone"}).json()["total"] == 0
        assert_error(
            client.get("/api/v1/tools/usage", params={"limit": 0}), 422, "VALIDATION_ERROR"
        )
        assert_error(
            client.get("/api/v1/tools/usage", params={"outcome": "meh"}), 422, "VALIDATION_ERROR"
        )

        report = client.get("/api/v1/tools/stats").json()
        (cutout,) = report["tools"]
        durations = np.array([r["duration_ms"] for r in everything])
        assert cutout["count"] == 20
        assert cutout["success"] == 10 and cutout["client_errors"] == 10
        assert cutout["success_rate"] == 0.5
        assert cutout["p50_ms"] == pytest.approx(np.percentile(durations, 50), abs=0.01)
        assert cutout["p95_ms"] == pytest.approx(np.percentile(durations, 95), abs=0.01)
        assert sum(day["count"] for day in cutout["per_day"]) == 20
        empty = client.get("/api/v1/tools/stats", params={"tool": "nothing"}).json()
        assert empty["tools"] == []
        assert_error(
            client.get(
                "/api/v1/tools/stats",
                params={"since": "2026-01-02T00:00:00Z", "until": "2026-01-01T00:00:00Z"},
            ),
            422,
            "VALIDATION_ERROR",
        )
