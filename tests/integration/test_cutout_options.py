"""Every cutout option and input kind, through the real app and the real u2netp."""

import base64
import io
import json

import numpy as np
import pytest
from litestar.testing import TestClient
from PIL import Image

from center_api.bootstrap.app import create_app
from tests.conftest import assert_error, decode_png, encode_png, subject_on_background
from tests.support.http_server import serve_routes

SEGMENT = "/api/v1/cutout/segment"


@pytest.fixture
def photo():
    image, truth = subject_on_background((480, 360))
    return encode_png(image), truth


def post(client, data: bytes | None = None, **fields):
    files = {"file": ("a.png", data, "image/png")} if data is not None else {}
    files |= {name: (None, str(value)) for name, value in fields.items()}
    return client.post(SEGMENT, files=files)


def decode(content: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(content))
    image.load()
    return image


# --- inputs ---------------------------------------------------------------------------------


def test_base64_input_plain_and_as_data_url(client, photo):
    data, truth = photo
    text = base64.b64encode(data).decode()
    for value in (text, f"data:image/png;base64,{text}"):
        response = post(client, image_file_b64=value)
        assert response.status_code == 200, response.text
        assert decode_png(response.content)[..., 3][truth].mean() > 200


def test_bad_base64_is_an_invalid_image(client):
    assert_error(post(client, image_file_b64="@@@not-base64@@@"), 422, "INVALID_IMAGE")


def test_none_or_several_sources_are_refused(client, photo):
    data, _ = photo
    assert_error(post(client, model="u2netp"), 422, "MISSING_SOURCE")
    body = assert_error(post(client, data, image_url="http://x/y.png"), 422, "MULTIPLE_SOURCES")
    assert body["error"]["details"]["given"] == ["file", "image_url"]


def test_image_url_on_loopback_is_refused_unless_allowed(make_settings, photo):
    data, truth = photo
    routes = {"/photo.png": (200, {"Content-Type": "image/png"}, data)}
    with serve_routes(routes) as base:
        with TestClient(create_app(make_settings())) as client:
            body = assert_error(post(client, image_url=f"{base}/photo.png"), 422, "URL_NOT_ALLOWED")
            assert body["error"]["details"] == {"host": "127.0.0.1"}
        allowed = make_settings(fetch={"allow_private_networks": True})
        with TestClient(create_app(allowed)) as client:
            response = post(client, image_url=f"{base}/photo.png")
            assert response.status_code == 200, response.text
            assert decode_png(response.content)[..., 3][truth].mean() > 200


def test_image_url_redirects_are_rechecked_and_bounded(make_settings, photo):
    data, _ = photo
    routes = {
        "/photo.png": (200, {}, data),
        "/hop": (302, {"Location": "/photo.png"}, b""),
        "/to-file": (302, {"Location": "file:///etc/passwd"}, b""),
        "/loop": (302, {"Location": "/loop"}, b""),
        "/big": (200, {}, b"\x89PNG" + b"\x00" * 5000),
        "/missing": (404, {}, b"nope"),
    }
    settings = make_settings(
        fetch={"allow_private_networks": True, "max_redirects": 2}, images={"max_bytes": 4000}
    )
    small = make_settings(fetch={"allow_private_networks": True})
    with serve_routes(routes) as base, TestClient(create_app(settings)) as client:
        assert_error(post(client, image_url=f"{base}/to-file"), 422, "URL_NOT_ALLOWED")
        assert_error(post(client, image_url=f"{base}/loop"), 422, "FETCH_FAILED")
        assert_error(post(client, image_url=f"{base}/big"), 413, "FILE_TOO_LARGE")
        body = assert_error(post(client, image_url=f"{base}/missing"), 422, "FETCH_FAILED")
        assert body["error"]["details"]["status"] == 404
        assert_error(post(client, image_url="ftp://example.com/a.png"), 422, "URL_NOT_ALLOWED")
        with TestClient(create_app(small)) as other:
            assert post(other, image_url=f"{base}/hop").status_code == 200


# --- options --------------------------------------------------------------------------------


def test_channels_alpha_gives_a_grey_mask(client, photo):
    data, truth = photo
    mask = decode(post(client, data, channels="alpha").content)
    assert mask.mode == "L"
    values = np.asarray(mask)
    assert values[truth].mean() > 200 and values[~truth].mean() < 30


@pytest.mark.parametrize(
    ("fields", "media_type", "mode"),
    [
        ({"format": "png"}, "image/png", "RGBA"),
        ({"format": "webp"}, "image/webp", "RGBA"),
        ({"format": "jpg", "bg_color": "#ffffff"}, "image/jpeg", "RGB"),
        ({"format": "jpg", "channels": "alpha"}, "image/jpeg", "L"),
        ({"format": "png", "bg_color": "00ff0080"}, "image/png", "RGBA"),
    ],
)
def test_every_format(client, photo, fields, media_type, mode):
    response = post(client, photo[0], **fields)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == media_type
    assert decode(response.content).mode == mode


def test_jpg_without_an_opaque_background_is_refused_clearly(client, photo):
    body = assert_error(post(client, photo[0], format="jpg"), 422, "FORMAT_NEEDS_BACKGROUND")
    assert "bg_color" in body["error"]["message"]
    assert_error(
        post(client, photo[0], format="jpg", bg_color="#ff000080"), 422, "FORMAT_NEEDS_BACKGROUND"
    )


def test_bg_color_flattens_the_background(client, photo):
    data, truth = photo
    out = np.asarray(decode(post(client, data, bg_color="blue").content))
    assert out.shape[2] == 3
    assert np.abs(out[~truth].astype(int) - [0, 0, 255]).mean() < 20
    assert_error(post(client, data, bg_color="not-a-colour"), 422, "VALIDATION_ERROR")


def test_crop_geometry_follows_the_subject_and_margins(client, photo):
    data, truth = photo
    rows, cols = np.nonzero(truth)
    subject_w, subject_h = cols.max() - cols.min() + 1, rows.max() - rows.min() + 1
    tight = post(client, data, crop="true")
    assert abs(int(tight.headers["x-width"]) - subject_w) <= 8
    assert abs(int(tight.headers["x-height"]) - subject_h) <= 8
    assert int(tight.headers["x-foreground-left"]) <= 4
    padded = post(client, data, crop="true", crop_margin="10px 20px")
    assert int(padded.headers["x-width"]) == int(tight.headers["x-width"]) + 40
    assert int(padded.headers["x-height"]) == int(tight.headers["x-height"]) + 20
    assert int(padded.headers["x-foreground-left"]) == int(tight.headers["x-foreground-left"]) + 20
    percent = post(client, data, crop="true", crop_margin="10%")
    assert int(percent.headers["x-height"]) > int(tight.headers["x-height"])
    assert_error(post(client, data, crop="true", crop_margin="1 2 3"), 422, "VALIDATION_ERROR")


def test_roi_restricts_the_search_to_a_region(client):
    left, _ = subject_on_background((300, 300))
    right, _ = subject_on_background((300, 300))
    image = np.concatenate([left, right], axis=1)
    alpha = decode_png(post(client, encode_png(image), roi="0 0 50% 100%").content)[..., 3]
    assert alpha[:, :300].max() > 200
    assert alpha[:, 300:].max() == 0
    assert_error(post(client, encode_png(image), roi="10 10 5 5"), 422, "VALIDATION_ERROR")


def test_preview_size_caps_the_output_at_a_quarter_megapixel(client):
    image, _ = subject_on_background((1200, 900))
    response = post(client, encode_png(image), size="preview")
    width, height = int(response.headers["x-width"]), int(response.headers["x-height"])
    assert width * height <= 250_000 and abs(width / height - 4 / 3) < 0.01
    assert response.headers["x-input-width"] == "1200"
    full = post(client, encode_png(image), size="full")
    assert full.headers["x-width"] == "1200"


def test_json_answer_carries_the_image_and_the_metadata(client, photo):
    data, truth = photo
    response = client.post(
        SEGMENT, files={"file": ("a.png", data)}, headers={"Accept": "application/json"}
    )
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["success"] is True and body["media_type"] == "image/png"
    assert body["metadata"]["model"] == "u2netp-int8" and body["metadata"]["width"] == 480
    assert body["request_id"] == response.headers["x-request-id"]
    alpha = decode_png(base64.b64decode(body["image_b64"]))[..., 3]
    assert alpha[truth].mean() > 200
    json.dumps(body)  # plain JSON all the way down


def test_an_image_with_no_subject_answers_clearly(client):
    flat = np.full((200, 200, 3), 128, dtype=np.uint8)
    response = post(client, encode_png(flat))
    assert response.status_code == 200
    assert response.headers["x-foreground-found"] in ("true", "false")
    if response.headers["x-foreground-found"] == "false":
        assert "x-foreground-left" not in response.headers


# --- edge quality ---------------------------------------------------------------------------


def green_screen_subject(size: int = 320) -> tuple[np.ndarray, np.ndarray]:
    """A warm subject with a soft, anti-aliased edge, composited over saturated green."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    distance = np.hypot(xx - size / 2, yy - size / 2)
    alpha = np.clip((size * 0.3 - distance) / 6.0 + 0.5, 0.0, 1.0)[..., None]
    subject = np.array([200.0, 120.0, 90.0])
    green = np.array([0.0, 255.0, 0.0])
    image = subject * alpha + green * (1.0 - alpha)
    edge = (alpha[..., 0] > 0.05) & (alpha[..., 0] < 0.98)
    return np.clip(image + 0.5, 0, 255).astype(np.uint8), edge


def test_decontaminate_removes_the_green_halo(client):
    image, edge = green_screen_subject()
    data = encode_png(image)
    alpha = np.asarray(decode(post(client, data, channels="alpha").content))
    band = edge & (alpha > 76)  # the soft edge the model kept (alpha > 0.3)
    results = {}
    for flag in ("false", "true"):
        on_blue = decode_png(post(client, data, bg_color="#0000ff", decontaminate=flag).content)
        cutout = decode_png(post(client, data, decontaminate=flag).content)
        results[flag] = (on_blue[..., 1][band].mean(), cutout[..., 1][band].mean())
    (blue_off, colour_off), (blue_on, colour_on) = results["false"], results["true"]
    print(
        f"\nedge band, mean green: on blue {blue_off:.1f} -> {blue_on:.1f}; "
        f"cut-out colour {colour_off:.1f} -> {colour_on:.1f} (subject's own green: 120)"
    )
    assert blue_on < blue_off - 10
    assert colour_off > 140  # the halo is really there without the option
    assert abs(colour_on - 120) < 12  # and gone with it
