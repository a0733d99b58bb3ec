"""Every failure answers the envelope with a stable code and the request id."""

import json

import pytest
from litestar.testing import TestClient

from center_api.bootstrap.app import create_app
from tests.conftest import assert_error, encode_png, subject_on_background
from tests.support.fake_slices import entry_point, install_module, make_slice

SEGMENT = "/api/v1/cutout/segment"


def test_unknown_route_is_404_resource_not_found(client):
    body = assert_error(client.get("/api/v1/nowhere"), 404, "RESOURCE_NOT_FOUND")
    assert "/api/v1/nowhere" in body["error"]["message"]


def test_wrong_method_is_405_method_not_allowed(client):
    assert_error(client.get(SEGMENT), 405, "METHOD_NOT_ALLOWED")


def test_body_over_the_request_limit_is_413(make_settings):
    settings = make_settings(server={"max_request_bytes": 20_000})
    with TestClient(create_app(settings)) as client:
        big = b"\x00" * 50_000
        response = client.post(SEGMENT, files={"file": ("big.png", big, "image/png")})
        body = assert_error(response, 413, "FILE_TOO_LARGE")
        assert body["error"]["details"]["max_request_bytes"] == 20_000


def test_image_over_the_image_limit_is_413(make_settings):
    settings = make_settings(images={"max_bytes": 1000})
    with TestClient(create_app(settings)) as client:
        response = client.post(SEGMENT, files={"file": ("a.png", b"\x89PNG" + b"\x00" * 5000)})
        body = assert_error(response, 413, "FILE_TOO_LARGE")
        assert body["error"]["details"]["max_bytes"] == 1000


@pytest.mark.parametrize(
    ("data", "code", "status"),
    [
        (b"", "INVALID_IMAGE", 422),
        (b"just some text, not a picture", "INVALID_IMAGE", 422),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "UNSUPPORTED_FORMAT", 415),
    ],
)
def test_bad_images_get_their_codes(client, data, code, status):
    assert_error(client.post(SEGMENT, files={"file": ("x.png", data)}), status, code)


def test_out_of_range_and_wrongly_typed_options_are_validation_errors(client):
    data = encode_png(subject_on_background()[0])
    response = client.post(SEGMENT, files={"file": ("a.png", data)}, data={"format": "gif"})
    body = assert_error(response, 422, "VALIDATION_ERROR")
    assert body["error"]["details"]["errors"][0]["key"] == "format"


def test_no_file_is_missing_source(client):
    response = client.post(SEGMENT, files={"model": (None, "u2netp")})
    assert_error(response, 422, "MISSING_SOURCE")


def test_an_unknown_form_field_is_a_validation_error_not_silence(client):
    data = encode_png(subject_on_background()[0])
    response = client.post(SEGMENT, files={"file": ("a.png", data), "colour": (None, "red")})
    assert_error(response, 422, "VALIDATION_ERROR")


def test_malformed_multipart_is_bad_request(client):
    response = client.post(
        SEGMENT,
        content=b"--xyz\r\nnot really multipart",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code in (400, 422)
    assert response.json()["success"] is False
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_unexpected_exception_is_500_without_leaking_the_traceback(
    monkeypatch, make_settings, capfd
):
    install_module(monkeypatch, echo=make_slice("echo"))
    settings = make_settings(slices={"echo": {"enabled": True}})
    app = create_app(settings, entry_points=lambda: [entry_point("echo", "echo")])
    with TestClient(app) as client:
        response = client.get("/api/v1/echo/boom", headers={"X-Request-ID": "trace-me-42"})
        body = assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret internal detail" not in response.text
    assert body["request_id"] == "trace-me-42"
    logged = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line[:1] == "{"]
    crash = next(line for line in logged if line["event"] == "request.crashed")
    assert crash["request_id"] == "trace-me-42"
    assert "RuntimeError: secret internal detail" in crash["exception"]


def test_a_valid_client_request_id_is_echoed_and_an_invalid_one_replaced(client):
    ok = client.get("/api/v1/health/live", headers={"X-Request-ID": "client-abc_1.2:3"})
    assert ok.headers["x-request-id"] == "client-abc_1.2:3"
    for bad in ("has spaces in it", "x" * 200, "<script>"):
        response = client.get("/api/v1/health/live", headers={"X-Request-ID": bad})
        assert response.headers["x-request-id"].startswith("req_")
    error = client.get("/nope", headers={"X-Request-ID": "err-7"})
    assert error.headers["x-request-id"] == "err-7"
    assert error.json()["request_id"] == "err-7"


def test_every_log_line_of_a_request_carries_its_request_id(make_settings, capfd):
    data = encode_png(subject_on_background()[0])
    with TestClient(create_app(make_settings())) as client:
        capfd.readouterr()
        headers = {"X-Request-ID": "logged-1"}
        client.post(SEGMENT, files={"file": ("a.png", data)}, headers=headers)
    lines = [json.loads(line) for line in capfd.readouterr().err.splitlines() if line[:1] == "{"]
    request_lines = [line for line in lines if line.get("logger", "").startswith("center_api")]
    assert any(line["event"] == "request.completed" for line in request_lines)
    assert request_lines and all(line.get("request_id") == "logged-1" for line in request_lines)
