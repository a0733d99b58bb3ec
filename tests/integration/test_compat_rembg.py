"""rembg server compatibility: POST /api/remove (an upload `file`) and GET /api/remove?url=."""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from center_api.testing.apps import sample_png, slice_client
from tests.conftest import assert_error

PHOTO = sample_png((160, 120))


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory, model_dir: Path):
    with slice_client(tmp_path_factory.mktemp("rembg")) as test_client:
        yield test_client


def remove(client, params=None, **data):
    files = {"file": ("photo.png", PHOTO, "image/png")}
    return client.post("/api/remove", files=files, data=data, params=params)


def pixels(response) -> np.ndarray:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return np.asarray(Image.open(io.BytesIO(response.content)))


def test_a_rembg_upload_gets_a_transparent_png(client):
    out = pixels(remove(client))
    assert out.shape == (120, 160, 4) and out[0, 0, 3] == 0 and out[60, 80, 3] == 255


def test_rembg_option_names(client):
    mask = pixels(remove(client, om="true", ppm="true"))
    assert mask.ndim == 2 and mask[0, 0] == 0 and mask[60, 80] == 255
    red = pixels(remove(client, params={"bgc": "255,0,0,255"}))
    assert tuple(red[2, 2][:3]) == (255, 0, 0)
    matted = pixels(remove(client, a="true", af="240", ab="10", ae="10", model="u2netp"))
    assert matted[60, 80, 3] == 255


def test_unsupported_models_and_bad_options_are_clear_4xx(client):
    unknown = assert_error(remove(client, model="sam"), 422, "VALIDATION_ERROR")
    assert "u2netp" in unknown["error"]["details"]["known"]
    assert_error(remove(client, af="300"), 422, "VALIDATION_ERROR")
    assert_error(remove(client, params={"bgc": "red"}), 422, "VALIDATION_ERROR")
    assert_error(remove(client, params={"extras": "{"}), 422, "VALIDATION_ERROR")
    missing = client.post("/api/remove", data={"model": "u2netp"})
    assert_error(missing, 422, "MISSING_SOURCE")


def test_get_by_url_follows_the_outbound_policy(client):
    assert_error(
        client.get("/api/remove", params={"url": "http://127.0.0.1/a.png"}), 422, "URL_NOT_ALLOWED"
    )
    assert_error(client.get("/api/remove"), 422, "VALIDATION_ERROR")  # url is required
