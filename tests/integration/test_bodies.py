"""Every image route reads multipart, urlencoded and JSON bodies with the same field names.

The routes come from the app's own OpenAPI document (every slice and installed plugin switched
on), so a route added later is covered without touching this file.
"""

import base64
import json
from collections.abc import Iterator
from importlib.metadata import entry_points
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from center_api.testing.apps import sample_png, slice_client
from tests.conftest import assert_error

PLUGINS = [
    ep.name
    for ep in entry_points(group="center_api.slices")
    if ep.name in {"image_info", "text_erase"}
]
PHOTO = sample_png((64, 48))
NOT_AN_IMAGE = b"this is not an image at all"
KINDS = ("multipart", "urlencoded", "json")
# A route's least options for a real answer (routes not listed only get the checks below).
SUCCEEDS: dict[str, dict[str, Any]] = {
    "/api/v1/cutout/segment": {"size": "preview"},
    "/api/v1/background-replace/color": {"color": "red", "format": "jpg"},
    "/api/v1/background-replace/image": {"background_b64": base64.b64encode(PHOTO).decode()},
    "/api/v1/face-enhance/detect": {},
    "/api/v1/image-info/describe": {},
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, model_dir: Any) -> Iterator[TestClient[Any]]:
    with slice_client(tmp_path_factory.mktemp("bodies"), *PLUGINS) as test_client:
        yield test_client


def image_routes(client: TestClient[Litestar]) -> list[str]:
    paths = client.get("/schema/openapi.json").json()["paths"]
    return sorted(
        path
        for path, item in paths.items()
        if "multipart/form-data" in item.get("post", {}).get("requestBody", {}).get("content", {})
        and not path.startswith(("/api/v1/tasks", "/v1.0/"))  # remove.bg's: its own shape
    )


def send(client: TestClient[Any], path: str, kind: str, image: bytes, fields: dict[str, Any]):
    """POST ``image`` and ``fields`` as one body kind (the upload as file, else as base64)."""
    if kind == "multipart":
        form = {name: str(value) for name, value in fields.items()}
        return client.post(path, files={"file": ("photo.png", image)}, data=form)
    encoded = base64.b64encode(image).decode()
    body = {"image_file_b64": encoded, **fields}
    if kind == "json":
        return client.post(path, json=body)
    return client.post(path, data={name: str(value) for name, value in body.items()})


def test_every_image_route_reads_each_body_kind(client):
    routes = image_routes(client)
    assert {"/api/v1/cutout/segment", "/api/v1/background-replace/image"} <= set(routes)
    for path in routes:
        answers = {kind: send(client, path, kind, NOT_AN_IMAGE, {}) for kind in KINDS}
        seen = {kind: (r.status_code, r.json()["error"]["code"]) for kind, r in answers.items()}
        # The image was found and read in every body kind: the same refusal each time.
        assert len(set(seen.values())) == 1, (path, seen)
        assert seen["json"][1] not in {"MISSING_SOURCE", "BAD_REQUEST"}, (path, seen)


def test_malformed_json_and_other_content_types_answer_the_envelope(client):
    for path in image_routes(client):
        broken = client.post(
            path, content=b'{"image_url": ', headers={"content-type": "application/json"}
        )
        assert_error(broken, 400, "BAD_REQUEST")
        not_an_object = client.post(path, json=["image_url"])
        assert_error(not_an_object, 400, "BAD_REQUEST")
        text = client.post(path, content=b"hello", headers={"content-type": "text/plain"})
        body = assert_error(text, 415, "UNSUPPORTED_MEDIA_TYPE")
        assert body["error"]["details"]["content_type"] == "text/plain"


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("path", sorted(SUCCEEDS))
def test_each_body_kind_gives_the_same_result(client, path, kind):
    if path not in image_routes(client):
        pytest.skip(f"{path} is not installed (pip install -e plugins/center-api-image-info)")
    response = send(client, path, kind, PHOTO, SUCCEEDS[path])
    assert response.status_code == 200, response.text
    reference = send(client, path, "multipart", PHOTO, SUCCEEDS[path])
    assert response.headers["content-type"] == reference.headers["content-type"]
    if response.headers["content-type"].startswith("application/json"):
        assert response.json() == reference.json()
    else:
        assert response.headers["x-width"] == reference.headers["x-width"]


def test_json_options_keep_their_types_and_unknown_fields_are_refused(client):
    path = "/api/v1/cutout/segment"
    photo = base64.b64encode(PHOTO).decode()
    ok = client.post(path, json={"image_file_b64": photo, "crop": True, "size": "preview"})
    assert ok.status_code == 200, ok.text
    typo = client.post(path, json={"image_file_b64": photo, "sise": "preview"})
    assert_error(typo, 422, "VALIDATION_ERROR")
    wrong = client.post(path, json={"image_file_b64": photo, "crop": {"a": 1}})
    assert_error(wrong, 422, "VALIDATION_ERROR")
    empty = client.post(path, content=b"", headers={"content-type": "application/json"})
    assert_error(empty, 400, "BAD_REQUEST")
    two = client.post(path, json={"image_file_b64": photo, "image_url": "https://example.com/a"})
    assert_error(two, 422, "MULTIPLE_SOURCES")
    remove_bg_name = client.post(path, files={"image_file": ("a.png", PHOTO)})
    assert remove_bg_name.status_code == 200, remove_bg_name.text
    assert json.loads(client.post(path, json={}).text)["error"]["code"] == "MISSING_SOURCE"
    as_text = assert_error(client.post(path, json={"file": photo}), 422, "VALIDATION_ERROR")
    assert "image_file_b64" in as_text["error"]["message"]  # says how to send it instead


def test_a_task_is_submitted_from_a_json_body_with_its_options_as_an_object(client):
    photo = base64.b64encode(PHOTO).decode()
    body = {"tool": "cutout", "options": {"format": "webp"}, "image_file_b64": photo}
    response = client.post("/api/v1/tasks", json=body)
    assert response.status_code == 202, response.text
    assert response.json()["tool"] == "cutout"
    as_text = client.post("/api/v1/tasks", data={**body, "options": '{"format": "webp"}'})
    assert as_text.status_code == 202, as_text.text
    bad = client.post("/api/v1/tasks", json={**body, "options": {"format": "gif"}})
    assert bad.status_code == 422
