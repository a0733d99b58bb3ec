"""background_replace id_photo through the real app, real u2netp and real centerface.

The portraits come from the shared test photos (the tests skip when they are absent).
"""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from center_api.sdk.vision.faces import detect_faces
from center_api.slices.background_replace.framing import CHIN_BELOW_MOUTH
from tests.conftest import assert_error, encode_png
from tests.support.background_replace import API, GREEN, ID_BLUE, edge_band, green_excess, ok


@pytest.fixture(scope="module")
def faces(shared_dir: Path) -> Path:
    return shared_dir / "testdata" / "faces"


def id_photo(client, path: Path, **fields):
    return client.post(
        f"{API}/id-photo", files={"file": (path.name, path.read_bytes())}, data=fields or None
    )


def crown_row(out: np.ndarray, background: tuple[int, int, int]) -> int:
    width = out.shape[1]
    centre = out[:, width // 3 : 2 * width // 3, :3].astype(int)
    subject = (np.abs(centre - background).max(axis=2) > 40).any(axis=1)
    return int(np.flatnonzero(subject)[0])


@pytest.mark.shared_data
@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({}, ((295, 413), (0.55, 0.10))),
        (
            {"photo_size": "passport", "color": "id_blue", "format": "png"},
            ((413, 531), (0.75, 0.08)),
        ),
        (
            {
                "photo_size": "custom",
                "width_mm": "35",
                "height_mm": "45",
                "dpi": "600",
                "head_height_ratio": "0.6",
                "top_margin_ratio": "0.12",
            },
            ((827, 1063), (0.6, 0.12)),
        ),
    ],
    ids=["one_inch", "passport_png", "custom_mm_600dpi"],
)
def test_id_photo_frames_the_one_face_by_the_rules(client, faces, centerface, fields, expected):
    """Size, dpi, and the face found again in the output where the head rules put it."""
    response = id_photo(client, faces / "fr_obama.jpg", **fields)
    out = ok(response)
    (width, height), (head_ratio, top_ratio) = expected
    assert out.shape[:2] == (height, width)
    dpi = Image.open(io.BytesIO(response.content)).info["dpi"]
    assert tuple(round(v) for v in dpi) == (int(fields.get("dpi", 300)),) * 2
    # Landmarks are most precise on faces of a few hundred pixels: look at a smaller copy.
    found = detect_faces(centerface, np.ascontiguousarray(out[..., :3]), max_side=480)
    assert len(found) == 1
    marks = found[0].landmarks
    eyes, mouth = (marks[0] + marks[1]) / 2, (marks[3] + marks[4]) / 2
    chin = mouth[1] + CHIN_BELOW_MOUTH * (mouth[1] - eyes[1])
    background = (255, 255, 255) if "color" not in fields else ID_BLUE
    crown = crown_row(out, background)
    assert abs(eyes[0] / width - 0.5) < 0.03  # centred
    assert abs(marks[1][1] - marks[0][1]) < 0.05 * found[0].eye_distance  # eyes level
    assert abs(crown / height - top_ratio) < 0.03  # headroom
    assert abs(chin / height - (top_ratio + head_ratio)) < 0.05  # chin where the rules say
    assert abs((chin - crown) / height - head_ratio) < 0.05  # head share of the height


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["gpen_Solvay_conference_1927.png", "fr_two_people.jpg"])
def test_a_group_photo_answers_multiple_faces_with_the_count(client, faces, name):
    body = assert_error(id_photo(client, faces / name), 422, "MULTIPLE_FACES")
    details = body["error"]["details"]
    assert details["count"] >= 2 and str(details["count"]) in body["error"]["message"]
    if name == "fr_two_people.jpg":
        assert details["count"] == 2


@pytest.mark.shared_data
def test_no_face_answers_no_face_detected(client, faces):
    body = assert_error(
        id_photo(client, faces / "negatives/dlib_dogs.jpg"), 422, "NO_FACE_DETECTED"
    )
    assert body["error"]["details"]["count"] == 0


@pytest.mark.shared_data
def test_target_kb_is_honoured_for_jpeg(client, faces):
    response = id_photo(client, faces / "fr_obama.jpg", photo_size="two_inch", target_kb="18")
    ok(response)
    assert response.headers["content-type"] == "image/jpeg"
    assert len(response.content) <= 18 * 1024
    assert 1 <= int(response.headers["x-jpeg-quality"]) < 95
    tiny = id_photo(client, faces / "fr_obama.jpg", target_kb="1")
    assert_error(tiny, 422, "TARGET_SIZE_UNREACHABLE")
    png = id_photo(client, faces / "fr_obama.jpg", target_kb="20", format="png")
    assert_error(png, 422, "VALIDATION_ERROR")


@pytest.mark.shared_data
def test_print_sheet_tiles_copies_on_six_inch_paper(client, faces, centerface):
    response = id_photo(client, faces / "fr_obama.jpg", print_sheet="six_inch")
    out = ok(response)
    assert out.shape[:2] == (1200, 1800)
    assert Image.open(io.BytesIO(response.content)).info["dpi"] == (300, 300)
    assert response.headers["x-copies"] == "10"
    assert len(detect_faces(centerface, np.ascontiguousarray(out))) == 10


@pytest.mark.shared_data
def test_id_photo_option_mistakes_answer_before_any_work(client, faces):
    photo = faces / "fr_obama.jpg"
    body = assert_error(id_photo(client, photo, photo_size="3x4"), 422, "VALIDATION_ERROR")
    assert "one_inch" in body["error"]["details"]["known"]
    assert_error(id_photo(client, photo, width_px="300"), 422, "VALIDATION_ERROR")
    assert_error(id_photo(client, photo, photo_size="custom"), 422, "VALIDATION_ERROR")
    assert_error(
        id_photo(client, photo, head_height_ratio="0.8", top_margin_ratio="0.3"),
        422,
        "VALIDATION_ERROR",
    )
    assert_error(id_photo(client, photo, print_sheet="poster"), 422, "VALIDATION_ERROR")


@pytest.mark.shared_data
def test_id_photo_leaves_no_green_halo(client, faces):
    """A real portrait put on saturated green, then made into an ID photo on blue."""
    portrait = np.asarray(Image.open(faces / "fr_obama.jpg").convert("RGB"))
    cut = ok(
        client.post(
            "/api/v1/cutout/segment", files={"file": ("o.png", encode_png(portrait), "image/png")}
        )
    )
    alpha = cut[..., 3:4].astype(np.float32) / 255
    green_screen = np.clip(alpha * portrait + (1 - alpha) * GREEN + 0.5, 0, 255).astype(np.uint8)
    excess = {}
    for decontaminate in ("true", "false"):
        response = client.post(
            f"{API}/id-photo",
            files={"file": ("g.png", encode_png(green_screen), "image/png")},
            data={"format": "png", "color": "id_blue", "decontaminate": decontaminate},
        )
        out = ok(response)
        subject = np.abs(out.astype(int) - ID_BLUE).max(axis=2) > 40
        excess[decontaminate] = green_excess(out, edge_band(subject, 3))
    print(
        f"\nid_photo: green excess in the edge band: ours {excess['true']:.2f}, "
        f"naive {excess['false']:.2f}"
    )
    assert excess["false"] > 1.5
    assert excess["true"] < 0.3 * excess["false"]
