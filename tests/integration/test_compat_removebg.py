"""remove.bg API v1.0 compatibility, request by request as its reference and clients send them."""

import base64
import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from litestar.testing import TestClient
from PIL import Image

from center_api.bootstrap.app import create_app
from center_api.testing.apps import sample_png, slice_client
from tests.integration.test_security import make_key

PHOTO = sample_png((160, 120))
ENDPOINT = "/v1.0/removebg"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):
    with slice_client(tmp_path_factory.mktemp("removebg")) as test_client:
        yield test_client


def upload(client, headers=None, **data):
    return client.post(
        ENDPOINT, files={"image_file": ("photo.png", PHOTO)}, data=data, headers=headers
    )


def errors_of(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = response.json()["errors"][0]
    assert error["code"] == code and error["title"] and error["detail"]
    return error


def image_of(response) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_the_removebg_package_request_gets_a_transparent_png(client):
    # The request the `removebg` PyPI package sends (every common field, as strings).
    data = {
        "size": "regular",
        "type": "auto",
        "type_level": "none",
        "format": "auto",
        "roi": "0 0 100% 100%",
        "crop": "false",
        "scale": "original",
        "position": "original",
        "channels": "rgba",
        "add_shadow": "false",
        "semitransparency": "true",
    }
    response = upload(client, headers={"X-Api-Key": "ignored-in-open-mode"}, **data)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    pixels = image_of(response)
    assert pixels.shape == (120, 160, 4)
    assert pixels[0, 0, 3] == 0 and pixels[60, 80, 3] == 255  # corner gone, subject kept
    headers = response.headers
    assert (headers["x-width"], headers["x-height"]) == ("160", "120")
    assert headers["x-credits-charged"] == "1" and headers["x-type"] == "other"
    left, top = int(headers["x-foreground-left"]), int(headers["x-foreground-top"])
    width, height = int(headers["x-foreground-width"]), int(headers["x-foreground-height"])
    assert 35 <= left <= 50 and 10 <= top <= 30 and 60 <= width <= 90 and 60 <= height <= 100
    assert "x-ratelimit-limit" in headers and "x-ratelimit-remaining" in headers


@pytest.mark.parametrize("kind", ["urlencoded", "json"])
def test_image_file_b64_in_each_body_kind(client, kind):
    fields = {"image_file_b64": base64.b64encode(PHOTO).decode(), "size": "preview"}
    send = {"json": fields} if kind == "json" else {"data": fields}
    response = client.post(ENDPOINT, **send)
    assert response.status_code == 200, response.text
    assert image_of(response).shape == (120, 160, 4)


def test_accept_json_answers_result_b64_and_the_foreground(client):
    response = upload(client, headers={"Accept": "application/json"})
    data = response.json()["data"]
    assert set(data) == {
        "result_b64",
        "foreground_top",
        "foreground_left",
        "foreground_width",
        "foreground_height",
    }
    assert Image.open(io.BytesIO(base64.b64decode(data["result_b64"]))).size == (160, 120)
    assert data["foreground_left"] == int(response.headers["x-foreground-left"])


def test_formats_colour_and_channels(client):
    jpg = upload(client, format="jpg", bg_color="ff0000")
    assert jpg.headers["content-type"] == "image/jpeg"
    assert tuple(image_of(jpg)[2, 2]) == pytest.approx((255, 0, 0), abs=8)
    auto = upload(client, bg_color="blue")  # auto: nothing transparent left → jpg
    assert auto.headers["content-type"] == "image/jpeg"
    assert upload(client, format="webp").headers["content-type"] == "image/webp"
    mask = image_of(upload(client, channels="alpha"))
    assert mask.ndim == 2 and mask[0, 0] == 0 and mask[60, 80] == 255
    archive = zipfile.ZipFile(io.BytesIO(upload(client, format="zip").content))
    assert sorted(archive.namelist()) == ["alpha.png", "color.jpg"]
    alpha = np.asarray(Image.open(archive.open("alpha.png")))
    assert alpha.shape == (120, 160) and alpha[60, 80] == 255


def test_crop_scale_position_roi_and_size(client):
    cropped = upload(client, crop="true", crop_margin="10px")
    box_w, box_h = int(cropped.headers["x-width"]), int(cropped.headers["x-height"])
    assert box_w < 160 and box_h < 120
    assert abs(int(cropped.headers["x-foreground-left"]) - 10) <= 2  # the margin, soft edge aside
    placed = upload(client, scale="50%", position="0% 100%")
    assert int(placed.headers["x-foreground-height"]) == 60  # half the canvas, the tall side
    assert placed.headers["x-foreground-left"] == "0"
    top = int(placed.headers["x-foreground-top"])
    assert top + int(placed.headers["x-foreground-height"]) == 120
    centred = upload(client, scale="50%")  # scale alone implies position=center
    assert abs(int(centred.headers["x-foreground-top"]) - 30) <= 1
    left_half = upload(client, roi="0 0 50% 100%")  # only the left half is searched
    right = int(left_half.headers["x-foreground-left"]) + int(
        left_half.headers["x-foreground-width"]
    )
    assert right <= 80
    shadow = image_of(upload(client, add_shadow="true"))
    plain = image_of(upload(client))
    assert (shadow[..., 3] > 0).sum() > (plain[..., 3] > 0).sum()  # the shadow adds coverage
    hard = image_of(upload(client, semitransparency="false"))
    assert set(np.unique(hard[..., 3])) <= {0, 255}


def test_background_image_file(client):
    red = Image.new("RGB", (40, 30), (200, 0, 0))
    out = io.BytesIO()
    red.save(out, format="PNG")
    files = {"image_file": ("photo.png", PHOTO), "bg_image_file": ("bg.png", out.getvalue())}
    response = client.post(ENDPOINT, files=files, data={"format": "png"})
    assert response.status_code == 200, response.text
    pixels = image_of(response)
    assert pixels.shape[2] == 3 and tuple(pixels[2, 2]) == pytest.approx((200, 0, 0), abs=4)
    bomb = io.BytesIO()  # small file, 42 MP declared: refused from its header, never decoded
    Image.new("1", (7000, 6000)).save(bomb, format="PNG")
    files["bg_image_file"] = ("bomb.png", bomb.getvalue())
    errors_of(client.post(ENDPOINT, files=files), 400, "resolution_too_high")


def test_bad_input_is_400_in_removebg_shape(client):
    errors_of(client.post(ENDPOINT, data={"size": "auto"}), 400, "missing_source")
    bad_size = errors_of(upload(client, size="huge"), 400, "invalid_parameters")
    assert "size" in bad_size["detail"]  # which field, not only "not valid"
    errors_of(upload(client, scale="5%"), 400, "invalid_parameters")
    errors_of(upload(client, position="left"), 400, "invalid_parameters")
    errors_of(
        upload(client, bg_color="red", bg_image_url="https://example.com/a.jpg"),
        400,
        "invalid_parameters",
    )
    not_image = client.post(ENDPOINT, files={"image_file": ("a.png", b"not an image")})
    errors_of(not_image, 400, "unknown_format")
    private = client.post(ENDPOINT, data={"image_url": "http://127.0.0.1/a.png"})
    errors_of(private, 400, "invalid_image_url")
    broken = client.post(ENDPOINT, content=b"{", headers={"content-type": "application/json"})
    errors_of(broken, 400, "invalid_request")


def test_keys_credits_and_limits_answer_removebg_statuses(make_settings):
    settings = make_settings(auth={"mode": "api_key"}, rate_limit={"per_key_per_minute": 4})
    _, key = make_key(settings, name="removebg-client", role="user", quota_calls=1)
    with TestClient(create_app(settings)) as client:
        errors_of(upload(client), 403, "auth_failed")
        errors_of(upload(client, headers={"X-Api-Key": "ck_nope_nope"}), 403, "auth_failed")
        account = client.get("/v1.0/account", headers={"X-Api-Key": key})
        assert account.json()["data"]["attributes"]["credits"]["total"] == 1
        assert upload(client, headers={"X-Api-Key": key}).status_code == 200
        account = client.get("/v1.0/account", headers={"X-Api-Key": key})
        assert account.json()["data"]["attributes"]["credits"]["total"] == 0
        errors_of(upload(client, headers={"X-Api-Key": key}), 402, "insufficient_credits")
        limited = upload(client, headers={"X-Api-Key": key})
        errors_of(limited, 429, "rate_limit_exceeded")
        assert int(limited.headers["retry-after"]) >= 0
