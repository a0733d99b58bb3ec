"""Face enhancement through the real app, the real kernel and the real detector.

Restoration networks are stand-ins with GFPGAN's and CodeFormer's exact signatures (built with
`onnx` in tests/support/face_models.py); `sr` uses the shared Real-ESRGAN weights, copied into a
temp model store (skipped when ../shared is absent).
"""

import base64
import io
import threading
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from litestar.testing import TestClient
from PIL import Image

from center_api.bootstrap.app import create_app
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.kernel import InferenceKernel
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import SessionCache
from center_api.sdk.vision import MESH_MODEL, face_mesh
from center_api.sdk.vision.faces import detect_faces
from center_api.slices.face_enhance.engines import Engine, restore_face
from center_api.slices.face_enhance.masks import mesh_mask
from center_api.slices.face_enhance.restore import (
    alignment_matrix,
    face_mask,
    paste_face,
    warp_area,
)
from tests.conftest import SHARED_DIR, assert_error, decode_png, encode_png
from tests.support.face_models import SR_FILE, build_face_store

ENHANCE = "/api/v1/face-enhance/enhance"
DETECT = "/api/v1/face-enhance/detect"
FACES = SHARED_DIR / "testdata" / "faces"
SR_WEIGHTS = SHARED_DIR / "models" / SR_FILE
needs_sr = pytest.mark.skipif(not SR_WEIGHTS.is_file(), reason=f"{SR_WEIGHTS} is not present")
shared_data = pytest.mark.shared_data


@pytest.fixture(scope="module")
def store_dir(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Detector, stand-in GFPGAN and CodeFormer, and the shared Real-ESRGAN when present."""
    sr = SR_WEIGHTS if SR_WEIGHTS.is_file() else None
    return build_face_store(tmp_path_factory.mktemp("faces"), model_dir, sr_weights=sr)


@pytest.fixture
def face_app(make_settings, store_dir):
    return create_app(make_settings(models={"dir": str(store_dir)}))


@pytest.fixture
def face_client(face_app):
    with TestClient(face_app) as client:
        yield client


def post(client, data: bytes, route: str = ENHANCE, **fields):
    form = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}
    return client.post(route, files={"file": ("photo.png", data, "image/png")}, data=form or None)


def photo(name: str) -> np.ndarray:
    if not (FACES / name).is_file():
        pytest.skip(f"{FACES / name} is not present")
    return np.asarray(Image.open(FACES / name).convert("RGB"))


def enhanced(client, rgb: np.ndarray, **fields) -> tuple[np.ndarray, dict[str, str]]:
    response = post(client, encode_png(rgb), **fields)
    assert response.status_code == 200, response.text
    return decode_png(response.content), dict(response.headers)


def detected_landmarks(client, rgb: np.ndarray, **fields) -> list[np.ndarray]:
    body = post(client, encode_png(rgb), DETECT, **fields).json()
    return [np.array(f["landmarks"], np.float32) for f in body["faces"] if f["action"] == "enhance"]


def paste_alpha(shape: tuple[int, ...], landmarks: list[np.ndarray]) -> np.ndarray:
    """Where the service may paste: each face's soft mask warped back into the image."""
    alpha = np.zeros(shape[:2], np.float32)
    for points in landmarks:
        inverse = cv2.invertAffineTransform(alignment_matrix(points))
        alpha = np.maximum(alpha, warp_area(face_mask(512), inverse, (shape[1], shape[0])))
    return alpha


def outside(alpha: np.ndarray) -> np.ndarray:
    """Pixels clear of every paste (landmarks come back from /detect rounded to 0.1 px)."""
    return ~cv2.dilate((alpha > 0).astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)


def abs_diff(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(np.int16) - b.astype(np.int16))


# --- the maths, end to end, with an identity network -------------------------------------------


@shared_data
@pytest.mark.parametrize("name", ["fr_obama.jpg", "fr_obama-240p.jpg", "fr_two_people.jpg"])
def test_an_identity_gfpgan_gives_back_the_photo_face_and_all(face_client, name):
    rgb = photo(name)
    out, headers = enhanced(face_client, rgb, engine="gfpgan-1.4")
    assert (headers["x-engine"], headers["x-model"]) == ("gfpgan-1.4", "gfpgan-1.4")
    assert headers["x-faces-enhanced"] == headers["x-faces-found"] != "0"
    alpha = paste_alpha(rgb.shape, detected_landmarks(face_client, rgb))
    diff = abs_diff(out, rgb)
    assert np.array_equal(out[outside(alpha)], rgb[outside(alpha)])  # the rest: untouched
    assert diff[alpha < 0.05].mean() < 0.5
    core = alpha > 0.99
    assert core.sum() > 500
    # warped to 512, "restored", warped back through the mask: only resampling is left
    assert diff[core].mean() < 3.5
    assert np.percentile(diff[core], 99) < 25


def test_auto_picks_the_best_installed_engine(
    face_client, client, model_dir, tmp_path, make_settings
):
    rgb = a_face()
    assert post(face_client, rgb).headers["x-engine"] == "gfpgan-1.4"
    assert post(client, rgb).headers["x-engine"] == "classic"  # the project store: no weights
    if SR_WEIGHTS.is_file():
        only_sr = build_face_store(
            tmp_path / "sr", model_dir, sr_weights=SR_WEIGHTS, networks=False
        )
        with TestClient(create_app(make_settings(models={"dir": str(only_sr)}))) as sr_client:
            response = post(sr_client, rgb)
        assert (response.headers["x-engine"], response.headers["x-model"]) == (
            "sr",
            "realesr-general-x4v3",
        )


# --- blend: ours, and visible ---------------------------------------------------------------------


@shared_data
@pytest.mark.parametrize("engine", ["classic", pytest.param("sr", marks=needs_sr)])
def test_blend_0_is_the_input_100_the_restoration_and_50_halfway(face_client, engine):
    rgb = photo("fr_obama-240p.jpg")
    none, _ = enhanced(face_client, rgb, engine=engine, blend=0)
    half, _ = enhanced(face_client, rgb, engine=engine, blend=50)
    full, _ = enhanced(face_client, rgb, engine=engine, blend=100)
    assert np.array_equal(none, rgb)
    change_full, change_half = abs_diff(full, rgb), abs_diff(half, rgb)
    core = paste_alpha(rgb.shape, detected_landmarks(face_client, rgb)) > 0.99
    assert change_full[core].mean() > 0.5  # the restoration shows
    moved = (change_full >= 6) & (full > 0) & (full < 255)  # clipped values cannot halve
    assert moved.sum() > 50
    assert np.abs(change_half[moved] - change_full[moved] / 2).max() <= 1.5
    assert 0.4 < change_half.mean() / change_full.mean() < 0.6


@shared_data
def test_blend_100_is_exactly_the_engine_output_pasted_back(face_client, store_dir):
    rgb = photo("fr_two_people.jpg")
    out, _ = enhanced(face_client, rgb, engine="classic")
    detector = SessionCache(ModelStore.from_directory(store_dir), InferenceSettings(), Metrics())
    expected = rgb.copy()
    for face in detect_faces(detector.get("centerface"), rgb):
        restored = restore_face(None, Engine("classic", "classic"), rgb, face.landmarks)
        mesh = face_mesh(detector.get(MESH_MODEL), rgb, face)
        mask = mesh_mask(mesh, restored.matrix, restored.crop.shape[0])
        paste_face(expected, restored.crop, restored.matrix, 1.0, mask)
    assert np.array_equal(out, expected)


# --- real photos ------------------------------------------------------------------------------


@shared_data
@pytest.mark.parametrize("engine", ["classic", pytest.param("sr", marks=needs_sr)])
@pytest.mark.parametrize("name", ["fr_obama.jpg", "fr_obama-240p.jpg", "fr_obama-1080p.jpg"])
def test_single_portraits_change_inside_the_face_only(face_client, engine, name):
    rgb = photo(name)
    out, headers = enhanced(face_client, rgb, engine=engine)
    assert out.shape == rgb.shape
    assert (headers["x-faces-found"], headers["x-faces-enhanced"]) == ("1", "1")
    assert headers["x-engine"] == engine and float(headers["x-ms-per-face"]) > 0
    alpha = paste_alpha(rgb.shape, detected_landmarks(face_client, rgb))
    assert np.array_equal(out[outside(alpha)], rgb[outside(alpha)])
    assert abs_diff(out, rgb)[alpha > 0.99].mean() > 0.5


@shared_data
def test_the_1927_group_photo_skips_tiny_faces_and_caps_the_rest(face_client):
    rgb = photo("gpen_Solvay_conference_1927.png")  # 29 faces, eyes 15-19 px apart
    out, headers = enhanced(face_client, rgb, engine="classic", min_eye_distance=24)
    assert headers["x-faces-found"] == headers["x-faces-skipped-small"] == "29"
    assert headers["x-faces-enhanced"] == "0" and headers["x-faces-skipped"] == "29"
    assert np.array_equal(out, rgb)
    out, headers = enhanced(face_client, rgb, engine="classic", min_eye_distance=12)
    assert (headers["x-faces-enhanced"], headers["x-faces-skipped-limit"]) == ("20", "9")
    out, headers = enhanced(face_client, rgb, engine="classic", min_eye_distance=12, max_faces=30)
    assert headers["x-faces-enhanced"] == "29"
    alpha = paste_alpha(
        rgb.shape, detected_landmarks(face_client, rgb, min_eye_distance=12, max_faces=30)
    )
    assert np.array_equal(out[outside(alpha)], rgb[outside(alpha)])
    assert abs_diff(out, rgb)[alpha > 0.99].mean() > 0.5


@shared_data
@needs_sr
def test_sr_sharpens_the_small_faces_of_the_group_photo(face_client):
    rgb = photo("gpen_Solvay_conference_1927.png")
    out, headers = enhanced(face_client, rgb, engine="sr", min_eye_distance=12, max_faces=6)
    assert headers["x-faces-enhanced"] == "6"
    alpha = paste_alpha(
        rgb.shape, detected_landmarks(face_client, rgb, min_eye_distance=12, max_faces=6)
    )
    core = alpha > 0.99
    assert contrast(out, core) > 1.1 * contrast(rgb, core)


DEGRADED_CROPS = (
    "gfpgan_Adele_crop.png",
    "gfpgan_Julia_Roberts_crop.png",  # black and white
    "gfpgan_Justin_Timberlake_crop.png",
    "gfpgan_Paris_Hilton_crop.png",  # black and white, printed halftone
)


def grey(rgb: np.ndarray, blur: float) -> np.ndarray:
    return cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32), (0, 0), blur)


def contrast(rgb: np.ndarray, where: np.ndarray) -> float:
    """Mean gradient at the scale of features (blur sigma 2 ignores noise and halftone)."""
    smooth = grey(rgb, 2.0)
    gradient = cv2.magnitude(
        cv2.Sobel(smooth, cv2.CV_32F, 1, 0), cv2.Sobel(smooth, cv2.CV_32F, 0, 1)
    )
    return float(gradient[where].mean())


@shared_data
@pytest.mark.parametrize("engine", ["classic", pytest.param("sr", marks=needs_sr)])
def test_degraded_512_crops_come_back_crisper_same_person_and_still_black_and_white(
    face_client, engine
):
    gains = []
    for name in DEGRADED_CROPS:
        rgb = photo(name)
        out, headers = enhanced(face_client, rgb, engine=engine)
        assert headers["x-faces-enhanced"] == "1"
        core = paste_alpha(rgb.shape, detected_landmarks(face_client, rgb)) > 0.99
        assert abs_diff(out, rgb)[core].mean() > 2.0  # visibly restored
        same = np.corrcoef(grey(rgb, 3)[core], grey(out, 3)[core])[0, 1]
        assert same > 0.98  # the same face, not another one
        gains.append(contrast(out, core) / contrast(rgb, core))
        if np.abs(rgb[..., 0].astype(int) - rgb[..., 2]).mean() < 1.0:
            assert np.abs(out[..., 0].astype(int) - out[..., 2]).max() <= 1
    # eyes and mouth take half the restoration (no rings, no repainted teeth): measured 1.07
    assert min(gains) > 0.95 and np.mean(gains) > 1.05, gains


# --- no face --------------------------------------------------------------------------------------


@shared_data
def test_no_face_is_422_unless_allowed_then_the_input_comes_back_as_is(face_client):
    dogs = (FACES / "negatives" / "dlib_dogs.jpg").read_bytes()
    response = face_client.post(ENHANCE, files={"file": ("dogs.jpg", dogs, "image/jpeg")})
    body = assert_error(response, 422, "NO_FACE_DETECTED")
    assert body["error"]["details"]["faces"] == 0
    response = face_client.post(
        ENHANCE, files={"file": ("dogs.jpg", dogs, "image/jpeg")}, data={"allow_no_face": "true"}
    )
    assert response.status_code == 200
    assert response.content == dogs and response.headers["content-type"] == "image/jpeg"
    assert (response.headers["x-unchanged"], response.headers["x-faces-found"]) == ("true", "0")


# --- engines and options ----------------------------------------------------------------------


def a_face() -> bytes:
    if not (FACES / "fr_obama-240p.jpg").is_file():
        pytest.skip("shared photos are not present")
    return encode_png(photo("fr_obama-240p.jpg"))


def test_engines_that_are_not_installed_answer_503_naming_the_pull(client, model_dir):
    store = ModelStore.from_directory(model_dir)
    missing = [m for m in ("realesr-general-x4v3",) if not store.is_installed(m)]
    for engine, model in [("sr", m) for m in missing] + [("gfpgan-1.4", "gfpgan-1.4")]:
        body = assert_error(post(client, a_face(), engine=engine), 503, "MODEL_NOT_AVAILABLE")
        assert f"center-api models pull {model}" in body["error"]["message"]
        assert body["error"]["details"]["pull"] == f"center-api models pull {model}"
    body = assert_error(post(client, a_face(), engine="nope"), 422, "VALIDATION_ERROR")
    assert {"classic", "sr", "gfpgan-1.4", "codeformer"} <= set(body["error"]["details"]["known"])


def test_fidelity_is_codeformers_only(face_client):
    for engine in ("classic", "gfpgan-1.4"):
        body = assert_error(
            post(face_client, a_face(), engine=engine, fidelity=0.7), 422, "VALIDATION_ERROR"
        )
        assert body["error"]["details"]["engine"] == engine
    response = post(face_client, a_face(), engine="codeformer", fidelity=0.7)
    assert response.status_code == 200, response.text
    assert response.headers["x-engine"] == "codeformer"
    assert_error(post(face_client, a_face(), blend=101), 422, "VALIDATION_ERROR")
    assert_error(post(face_client, a_face(), upscale=3), 422, "VALIDATION_ERROR")
    assert_error(post(face_client, a_face(), strength=3), 422, "VALIDATION_ERROR")


def test_upscale_2_doubles_the_picture_with_the_faces_restored_at_that_size(face_client):
    rgb = decode_png(a_face())
    out, headers = enhanced(face_client, rgb, engine="classic", upscale=2)
    assert out.shape == (rgb.shape[0] * 2, rgb.shape[1] * 2, 3)
    assert (headers["x-width"], headers["x-upscale"], headers["x-faces-enhanced"]) == (
        "854",
        "2",
        "1",
    )


@shared_data
def test_detect_lists_boxes_landmarks_scores_and_what_enhance_would_do(face_client):
    data = encode_png(photo("fr_two_people.jpg"))
    body = post(face_client, data, DETECT).json()
    assert (body["faces_found"], body["width"], body["detector"]) == (2, 1126, "centerface")
    for face in body["faces"]:
        assert len(face["box"]) == 4 and np.array(face["landmarks"]).shape == (5, 2)
        assert face["score"] > 0.5 and face["eye_distance"] > 24 and face["action"] == "enhance"
    centre = post(face_client, data, DETECT, only_center_face=True).json()
    assert sorted(f["action"] for f in centre["faces"]) == ["enhance", "skip_not_center"]
    capped = post(face_client, data, DETECT, max_faces=1).json()
    assert sorted(f["action"] for f in capped["faces"]) == ["enhance", "skip_limit"]


@shared_data
def test_return_faces_beside_or_instead_of_the_image(face_client):
    data = encode_png(photo("fr_two_people.jpg"))
    beside = post(face_client, data, engine="classic", return_faces="beside")
    assert beside.headers["content-type"].startswith("application/json")
    body = beside.json()
    image = np.asarray(Image.open(io.BytesIO(base64.b64decode(body["image_b64"]))))
    assert image.shape == (661, 1126, 3) and body["media_type"] == "image/png"
    assert len(body["metadata"]["faces"]) == 2 and body["request_id"].startswith("req_")
    instead = post(face_client, data, engine="classic", return_faces="instead")
    report = instead.json()
    assert report["faces_found"] == 2 and "image_b64" not in report
    assert instead.headers["x-faces-found"] == "2"


# --- scheduling -----------------------------------------------------------------------------------


def recording(kernel: InferenceKernel, log: list[str], delay_s: float = 0.0) -> None:
    """Make ``kernel.run`` log each job's label (and optionally slow face jobs down)."""
    original = kernel.run

    async def run(job, *, label="job"):
        log.append(label)

        def slowed():
            if label == "face_enhance.face":
                time.sleep(delay_s)
            return job()

        return await original(slowed, label=label)

    kernel.run = run


@shared_data
def test_each_face_is_its_own_kernel_job(face_app):
    log: list[str] = []
    rgb = photo("gpen_Solvay_conference_1927.png")
    with TestClient(face_app) as client:
        kernel = client.blocking_portal.call(face_app.state.dishka_container.get, InferenceKernel)
        recording(kernel, log)
        enhanced(client, rgb, engine="classic", min_eye_distance=12, max_faces=25)
    assert log == ["face_enhance.detect"] + ["face_enhance.face"] * 25 + ["face_enhance.encode"]


@shared_data
def test_a_many_face_photo_does_not_hold_back_a_small_request(make_settings, store_dir):
    settings = make_settings(models={"dir": str(store_dir)}, inference={"max_concurrent": 1})
    app = create_app(settings)
    log: list[str] = []
    group = encode_png(photo("gpen_Solvay_conference_1927.png"))
    with TestClient(app) as client:
        kernel = client.blocking_portal.call(app.state.dishka_container.get, InferenceKernel)
        recording(kernel, log, delay_s=0.05)
        fields = {"engine": "classic", "min_eye_distance": 12}
        big = threading.Thread(target=lambda: post(client, group, **fields))
        big.start()
        for _ in range(500):
            if "face_enhance.face" in log:
                break
            time.sleep(0.01)
        small = post(client, a_face(), engine="classic")
        big.join(timeout=60)
    assert small.status_code == 200
    first_encode = log.index("face_enhance.encode")  # the small request's
    last_face = len(log) - 1 - log[::-1].index("face_enhance.face")  # the group photo's
    assert first_encode < last_face
