"""The text_erase plugin through the contract kit and a real app."""

from pathlib import Path

import cv2
import msgspec
import numpy as np
import pytest
from center_api_text_erase import SLICE, EraseOptions

from center_api.testing import check_slice, slice_client

SHARED_TEXT = Path(__file__).resolve().parents[3].parent / "shared" / "testdata" / "text"


def poster(size: tuple[int, int] = (480, 240)) -> np.ndarray:
    """An RGB picture with two lines of black text on a soft gradient."""
    width, height = size
    ramp = np.linspace(180, 240, width, dtype=np.float32)
    pixels = np.dstack([np.tile(ramp, (height, 1))] * 3).astype(np.uint8)
    pixels[..., 2] = 235
    for (x, y), text in (((30, 80), "SUMMER SALE"), ((30, 170), "50% OFF TODAY")):
        cv2.putText(pixels, text, (x, y), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (20, 20, 20), 3)
    return pixels


def png(pixels: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR))
    assert ok
    return data.tobytes()


def unpng(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


FORM = {"file": ("poster.png", png(poster()))}


def test_text_erase_honours_the_slice_contract(tmp_path, text_model_dir):
    report = check_slice("text_erase", tmp_path, sample=png(poster()))
    assert report.routes == ["/api/v1/text-erase/detect", "/api/v1/text-erase/erase"]
    assert report.result is not None and report.result.media_type == "image/png"
    assert report.result.metadata["text_boxes"] >= 2
    assert set(report.error_codes) == {"INVALID_IMAGE"}


def test_installed_plugin_is_disabled_until_enabled(tmp_path, text_model_dir):
    with slice_client(tmp_path) as client:
        tool = client.get("/api/v1/tools/text_erase").json()
        assert tool["status"] == "disabled"
        response = client.post("/api/v1/text-erase/erase", files=FORM)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "FEATURE_DISABLED"
        paths = client.get("/schema/openapi.json").json()["paths"]
        assert "/api/v1/text-erase/erase" not in paths


def test_enabled_plugin_is_listed_and_documented(tmp_path, text_model_dir):
    with slice_client(tmp_path, "text_erase") as client:
        names = {tool["name"]: tool for tool in _tools(client.get("/api/v1/tools").json())}
        assert names["text_erase"]["status"] == "enabled"
        paths = client.get("/schema/openapi.json").json()["paths"]
        assert {"/api/v1/text-erase/erase", "/api/v1/text-erase/detect"} <= set(paths)


def test_detect_finds_both_lines_as_boxes(tmp_path, text_model_dir):
    with slice_client(tmp_path, "text_erase") as client:
        response = client.post("/api/v1/text-erase/detect", files=FORM)
        assert response.status_code == 200, response.text
        body = response.json()
    assert body["count"] == len(body["boxes"]) >= 2
    tops = sorted(box["box"][1] for box in body["boxes"])
    assert tops[0] < 80 < tops[-1] < 170  # one box per line, top to bottom
    assert all(0.5 <= box["score"] <= 1 for box in body["boxes"])


def test_erase_removes_the_text_and_leaves_the_rest_alone(tmp_path, text_model_dir):
    original = poster()
    with slice_client(tmp_path, "text_erase") as client:
        erased = client.post("/api/v1/text-erase/erase", files=FORM)
        assert erased.status_code == 200, erased.text
        mask = client.post("/api/v1/text-erase/erase", files={**FORM, "output": (None, "mask")})
        again = client.post(
            "/api/v1/text-erase/detect", files={"file": ("e.png", erased.content)}
        ).json()
    out, holes = unpng(erased.content), unpng(mask.content) > 0
    assert int(erased.headers["x-text-boxes"]) >= 2
    assert again["count"] == 0
    assert np.array_equal(out[~holes], original[~holes])
    dark = original.min(axis=2) < 60  # the glyph strokes
    assert holes[dark].all() and out[dark].min() > 120


def test_exclude_and_include_regions_choose_what_is_erased(tmp_path, text_model_dir):
    with slice_client(tmp_path, "text_erase") as client:

        def count(**fields: str) -> int:
            extra = {key: (None, value) for key, value in fields.items()}
            response = client.post("/api/v1/text-erase/detect", files={**FORM, **extra})
            return response.json()["count"]

        total = count()
        assert count(exclude="0 0 100% 50%") == total - 1
        assert count(include="0 0 100% 50%") == 1
        assert count(min_score="1") == 0
        bad = client.post("/api/v1/text-erase/detect", files={**FORM, "include": (None, "1 2")})
        assert bad.status_code in (400, 422) and bad.json()["error"]["code"] == "VALIDATION_ERROR"


def test_boxes_output_and_task_options_round_trip(tmp_path, text_model_dir):
    options = msgspec.convert({"output": "boxes", "dilation": 0}, EraseOptions)
    assert isinstance(options, SLICE.options_type)
    report = check_slice("text_erase", tmp_path, sample=png(poster()), options=options)
    assert report.result is not None and report.result.media_type == "application/json"
    assert msgspec.json.decode(report.result.content)["count"] >= 2


@pytest.mark.skipif(not SHARED_TEXT.is_dir(), reason="shared text photos are not present")
def test_real_photos_lose_nearly_all_their_text(tmp_path, text_model_dir):
    photo = (SHARED_TEXT / "rapidocr_en.jpg").read_bytes()
    with slice_client(tmp_path, "text_erase") as client:
        before = client.post("/api/v1/text-erase/detect", files={"file": ("a.jpg", photo)})
        erased = client.post("/api/v1/text-erase/erase", files={"file": ("a.jpg", photo)})
        after = client.post("/api/v1/text-erase/detect", files={"file": ("b.png", erased.content)})
    assert before.json()["count"] >= 3
    assert after.json()["count"] <= 1


def _tools(body: object) -> list[dict]:
    if isinstance(body, dict):
        for key in ("tools", "items", "data"):
            if isinstance(body.get(key), list):
                return body[key]
    assert isinstance(body, list)
    return body
