"""background_replace id_photo through the real app, real u2netp and real centerface.

The portraits come from the shared test photos (the tests skip when they are absent).
"""

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import LoadedModel, SessionCache
from center_api.sdk.vision import MESH_MODEL, detect_faces, face_mesh
from center_api.slices.background_replace.presets import id_photo_size
from tests.conftest import assert_error, encode_png
from tests.support.background_replace import API, GREEN, ID_BLUE, edge_band, green_excess, ok


@pytest.fixture(scope="module")
def faces(shared_dir: Path) -> Path:
    return shared_dir / "testdata" / "faces"


@pytest.fixture(scope="module")
def mesh_model(model_dir: Path) -> LoadedModel:
    return SessionCache(ModelStore.from_directory(model_dir), InferenceSettings(), Metrics()).get(
        MESH_MODEL
    )


def id_photo(client, path: Path, **fields):
    return client.post(
        f"{API}/id-photo", files={"file": (path.name, path.read_bytes())}, data=fields or None
    )


def crown_row(out: np.ndarray, background: tuple[int, int, int]) -> int:
    width = out.shape[1]
    centre = out[:, width // 3 : 2 * width // 3, :3].astype(int)
    subject = (np.abs(centre - background).max(axis=2) > 40).any(axis=1)
    return int(np.flatnonzero(subject)[0])


def measure(out: np.ndarray, background, detector, mesh_model) -> dict[str, float]:
    """Head share, headroom and eye line of an ID photo, measured again on its pixels.

    The chin and eyes come from the face mesh run on the result, the crown from the first row
    that differs from the background colour.
    """
    height, width = out.shape[:2]
    rgb = np.ascontiguousarray(out[..., :3])
    # Landmarks are most precise on faces of a few hundred pixels: look at a smaller copy.
    found = detect_faces(detector, rgb, max_side=480)
    assert len(found) == 1
    mesh = face_mesh(mesh_model, rgb, found[0])
    crown = crown_row(out, background)
    return {
        "head": (mesh.chin[1] - crown) / height,
        "top": crown / height,
        "eye_line": 1.0 - mesh.eyes[1] / height,
        "eyes_x": mesh.eyes[0] / width,
        "roll": mesh.roll,
    }


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "case",
    [
        ("fr_obama.jpg", {}, (295, 413)),
        (
            "fr_obama.jpg",
            {"photo_size": "passport", "color": "id_blue", "format": "png"},
            (413, 531),
        ),
        ("fr_biden.jpg", {"photo_size": "passport"}, (413, 531)),
        (
            "fr_obama.jpg",
            {
                "photo_size": "custom",
                "width_mm": "35",
                "height_mm": "45",
                "dpi": "600",
                "head_height_ratio": "0.6",
                "top_margin_ratio": "0.12",
            },
            (827, 1063),
        ),
    ],
    ids=["one_inch", "passport", "passport_smiling", "custom"],
)
def test_id_photo_meets_its_sizes_rules_measured_on_the_result(
    client, faces, centerface, mesh_model, case
):
    """The head share, headroom and eye line, measured on the output, are in the size's bands."""
    photo, fields, size = case
    response = id_photo(client, faces / photo, **fields)
    out = ok(response)
    width, height = size
    assert out.shape[:2] == (height, width)
    dpi = Image.open(io.BytesIO(response.content)).info["dpi"]
    assert tuple(round(v) for v in dpi) == (int(fields.get("dpi", 300)),) * 2
    background = ID_BLUE if "color" in fields else (255, 255, 255)
    got = measure(out, background, centerface, mesh_model)
    name = fields.get("photo_size", "one_inch")
    rules = id_photo_size("one_inch" if name == "custom" else name)
    head_band, top_band = rules.head_height_range, rules.top_margin_range
    if "head_height_ratio" in fields:
        head_band = (float(fields["head_height_ratio"]),) * 2
        top_band = (float(fields["top_margin_ratio"]),) * 2
    print(f"\n{photo} {fields.get('photo_size', 'one_inch')}: {got}")
    assert head_band[0] - 0.02 <= got["head"] <= head_band[1] + 0.02
    assert top_band[0] - 0.02 <= got["top"] <= top_band[1] + 0.02
    assert rules.eye_line_range[0] - 0.02 <= got["eye_line"] <= rules.eye_line_range[1] + 0.02
    assert abs(got["eyes_x"] - 0.5) < 0.03 and abs(got["roll"]) < 2.0
    # the answer reports what the result measures
    assert abs(float(response.headers["x-head-ratio"]) - got["head"]) < 0.03
    assert abs(float(response.headers["x-eye-line"]) - got["eye_line"]) < 0.03
    if fields.get("photo_size") == "passport":  # ICAO: chin to crown 32-36 mm of 45
        assert 0.71 <= got["head"] <= 0.80


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
    assert response.headers["x-copies"] == response.headers["x-cells"] == "10"
    assert (response.headers["x-columns"], response.headers["x-rows"]) == ("5", "2")
    assert response.headers["x-dpi"] == "300"
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


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "case",
    [
        ("fr_obama_partial_face.jpg", slice(None), {}, "HEAD_CUT_OFF", "side"),
        ("fr_obama.jpg", slice(110, None), {}, "HEAD_CUT_OFF", "crown"),
        ("fr_obama.jpg", slice(0, 400), {}, "HEAD_CUT_OFF", "chin"),
        ("fr_obama.jpg", slice(0, 450), {"photo_size": "passport"}, "CROP_TOO_TIGHT", "bottom"),
        ("fr_obama-240p.jpg", slice(None), {"photo_size": "passport"}, "FACE_TOO_SMALL", None),
    ],
    ids=["partial_face", "crown_cut", "chin_cut", "tight_below_chin", "too_small"],
)
def test_what_cannot_make_an_id_photo_is_refused_with_what_to_retake(client, faces, case):
    photo, rows, fields, code, part = case
    pixels = np.asarray(Image.open(faces / photo).convert("RGB"))[rows]
    response = client.post(
        f"{API}/id-photo",
        files={"file": ("crop.png", encode_png(pixels), "image/png")},
        data=fields or None,
    )
    body = assert_error(response, 422, code)
    assert "retake" in body["error"]["message"]
    if part is not None:
        assert part in (body["error"]["details"].get("part"), body["error"]["details"].get("edge"))


@pytest.mark.shared_data
def test_headroom_missing_from_the_photo_is_new_background_not_repeated_edges(client, faces):
    """Little room above the hair: the frame grows with the plain colour, never the edge row."""
    pixels = np.asarray(Image.open(faces / "fr_obama.jpg").convert("RGB"))[12:]
    response = client.post(
        f"{API}/id-photo",
        files={"file": ("top.png", encode_png(pixels), "image/png")},
        data={"photo_size": "passport", "format": "png", "color": "id_blue"},
    )
    out = ok(response)
    crown = round(float(response.headers["x-top-margin"]) * out.shape[0])
    assert crown >= 40  # the ICAO headroom, more than the photo had above the hair
    above = out[: crown * 3 // 4, :, :3].astype(int)  # the hair's soft fringe is below this
    assert np.abs(above - ID_BLUE).max() <= 2  # plain colour: no streaks, no chimneys
