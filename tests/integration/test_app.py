"""Health, metrics, OpenAPI, slice toggles and a real installed plugin."""

from importlib.metadata import entry_points

import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from tests.conftest import assert_error, encode_png, subject_on_background


def test_health_reports_model_store_and_database(client):
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    report = response.json()
    assert report["ready"] is True and report["live"] is True
    store = report["checks"]["model_store"]
    assert store["ok"] is True and store["missing"] == []
    assert {"u2netp-int8", "centerface"} <= set(store["required"])
    assert report["checks"]["database"]["ok"] is True
    assert report["inference"]["max_concurrent"] == 2


def test_health_is_not_ready_when_the_database_is_unreachable(make_settings, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    settings = make_settings(database={"url": f"sqlite+aiosqlite:///{blocker}/x/app.db"})
    with pytest.raises(OSError):  # cannot even create the folder: refuse at build time
        create_app(settings)
    settings = make_settings(database={"url": "postgresql+asyncpg://nobody@127.0.0.1:1/none"})
    with TestClient(create_app(settings)) as client:
        response = client.get("/api/v1/health")
        assert response.status_code == 503
        assert response.json()["checks"]["database"]["ok"] is False


def test_metrics_show_the_inference_histogram_after_a_cutout(client):
    data = encode_png(subject_on_background()[0])
    assert client.post("/api/v1/cutout/segment", files={"file": ("a.png", data)}).status_code == 200
    text = client.get("/metrics").text
    assert 'model_inference_duration_seconds_count{model="u2netp-int8"} 1.0' in text
    assert (
        'http_requests_total{method="POST",route="/api/v1/cutout/segment",status="200"} 1.0' in text
    )
    for name in ("http_request_duration_seconds", "model_inference_errors_total", "queue_size"):
        assert name in text
    assert "active_tasks" in text


def test_unmatched_paths_do_not_grow_metric_labels(client):
    for i in range(5):
        client.get(f"/random/{i}")
    text = client.get("/metrics").text
    assert "/random/" not in text
    assert 'route="<unmatched>",status="404"} 5.0' in text


def test_openapi_document_and_browsable_ui(client):
    spec = client.get("/schema/openapi.json").json()
    assert "/api/v1/cutout/segment" in spec["paths"]
    form = spec["components"]["schemas"]["CutoutForm"]
    assert form["properties"]["model"]["pattern"]
    ui = client.get("/schema")
    assert ui.status_code == 200 and "text/html" in ui.headers["content-type"]


def test_disabling_cutout_in_config_answers_feature_disabled(make_settings):
    settings = make_settings(slices={"cutout": {"enabled": False}})
    with TestClient(create_app(settings)) as client:
        data = encode_png(subject_on_background()[0])
        response = client.post("/api/v1/cutout/segment", files={"file": ("a.png", data)})
        body = assert_error(response, 404, "FEATURE_DISABLED")
        assert body["error"]["details"]["slice"] == "cutout"
        assert_error(client.get("/api/v1/cutout"), 404, "FEATURE_DISABLED")
        assert "/api/v1/cutout/segment" not in client.get("/schema/openapi.json").json()["paths"]
        assert client.get("/api/v1/tools/cutout").json()["status"] == "disabled"


def _plugin_installed() -> bool:
    return any(ep.name == "image_info" for ep in entry_points(group="center_api.slices"))


@pytest.mark.skipif(
    not _plugin_installed(), reason="plugins/center-api-image-info is not pip-installed"
)
def test_an_installed_plugin_is_off_until_enabled_then_serves(make_settings):
    data = encode_png(subject_on_background((64, 32))[0])
    files = {"file": ("a.png", data)}
    with TestClient(create_app(make_settings())) as client:
        assert_error(
            client.post("/api/v1/image-info/describe", files=files), 404, "FEATURE_DISABLED"
        )
    settings = make_settings(slices={"image_info": {"enabled": True}})
    with TestClient(create_app(settings)) as client:
        response = client.post("/api/v1/image-info/describe", files=files)
        assert response.status_code == 200, response.text
        assert response.json()["width"] == 64 and response.json()["height"] == 32
        assert "/api/v1/image-info/describe" in client.get("/schema/openapi.json").json()["paths"]
