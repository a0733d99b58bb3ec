"""The default face enhancement (``auto``): only faces that need it, no harm, small faces too.

Through the real app with the project's own model store (detector, face mesh; no weights for
networks, so ``auto`` resolves to the classic engine with its per-face checks).
"""

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.conftest import SHARED_DIR, decode_png, encode_png

ENHANCE = "/api/v1/face-enhance/enhance"
FACES = SHARED_DIR / "testdata" / "faces"
pytestmark = pytest.mark.shared_data


def photo(name: str) -> np.ndarray:
    return np.asarray(Image.open(FACES / name).convert("RGB"))


def enhance(client, rgb: np.ndarray, **fields):
    response = client.post(
        ENHANCE,
        files={"file": ("photo.png", encode_png(rgb), "image/png")},
        data={k: str(v) for k, v in fields.items()} or None,
    )
    assert response.status_code == 200, response.text
    return response


def test_the_1927_group_photo_gets_most_of_its_small_faces_restored_by_default(client):
    rgb = photo("gpen_Solvay_conference_1927.png")  # 29 faces of 40-55 px, eyes 15-19 px apart
    response = enhance(client, rgb, max_faces=30)
    headers = response.headers
    found, done = int(headers["x-faces-found"]), int(headers["x-faces-enhanced"])
    assert found >= 25 and done >= 10
    assert int(headers["x-faces-skipped"]) == found - done
    out = decode_png(response.content)
    assert out.shape == rgb.shape and not np.array_equal(out, rgb)


def test_an_old_photo_gets_both_faces_and_json_says_why_others_were_left(client):
    rgb = photo("gfpgan_00.jpg")  # an old scanned photo of two people
    response = enhance(client, rgb, return_faces="beside")
    body = response.json()
    metadata = body["metadata"]
    assert metadata["faces_enhanced"] >= 2 and response.headers["x-faces-enhanced"] == str(
        metadata["faces_enhanced"]
    )
    for face in metadata["faces"]:
        if face["action"] == "enhance":
            assert face["engine"] == "classic" and 0 < face["strength"] <= 1
            assert face["degradation"] > 0.25
    out = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["image_b64"]))))
    assert out.shape[:2] == rgb.shape[:2]


def test_sharp_faces_are_left_exactly_as_they_are_and_the_reason_is_given(client):
    rgb = photo("fr_two_people.jpg")
    response = enhance(client, rgb, return_faces="beside")
    metadata = response.json()["metadata"]
    assert (metadata["faces_found"], metadata["faces_enhanced"]) == (2, 0)
    assert response.headers["x-faces-skipped-clean"] == "2"
    assert metadata["skipped"] == {"already clean and sharp: nothing to restore": 2}
    image = response.json()["image_b64"]
    out = np.asarray(Image.open(io.BytesIO(base64.b64decode(image))).convert("RGB"))
    assert np.array_equal(out, rgb)
