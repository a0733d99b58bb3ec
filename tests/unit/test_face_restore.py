"""Face alignment, paste-back, networks' I/O and the classic engine."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.model_store import ModelStore
from center_api.kernel.sessions import LoadedModel, SessionCache
from center_api.sdk.vision.faces import detect_faces
from center_api.slices.face_enhance.classic import blur_need, enhance_classic, estimate_noise
from center_api.slices.face_enhance.networks import restore_with_network, super_resolve
from center_api.slices.face_enhance.restore import (
    FFHQ_TEMPLATE_512,
    align_face,
    face_mask,
    match_colour,
    native_size,
    paste_face,
    rescale_matrix,
    similarity_transform,
    warp_area,
)
from tests.conftest import SHARED_DIR
from tests.support.face_models import SR_FILE, build_face_store


def texture(size: int = 600, seed: int = 0) -> np.ndarray:
    """A strongly textured colour image (worst case for resampling)."""
    rng = np.random.default_rng(seed)
    noise = cv2.GaussianBlur(rng.uniform(0, 255, (size, size, 3)).astype(np.float32), (0, 0), 2)
    return np.clip((noise - noise.mean()) * 4 + 128, 0, 255).astype(np.uint8)


def placed_landmarks(scale: float, angle: float, centre: tuple[float, float]) -> np.ndarray:
    """The template's five points rotated, scaled and moved into an image."""
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    return ((FFHQ_TEMPLATE_512 - 256) @ rotation.T * scale + centre).astype(np.float32)


def core_of(matrix: np.ndarray, size: int, shape: tuple[int, ...]) -> np.ndarray:
    """Image pixels where the face mask of a crop aligned by ``matrix`` is fully on."""
    inverse = cv2.invertAffineTransform(matrix)
    return warp_area(face_mask(size), inverse, (shape[1], shape[0])) > 0.99


def test_similarity_transform_recovers_a_known_rotation_scale_and_shift():
    points = placed_landmarks(0.4, 0.3, (150.0, 120.0))
    matrix = similarity_transform(points, FFHQ_TEMPLATE_512)
    mapped = points @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - FFHQ_TEMPLATE_512).max() < 1e-3
    assert np.isclose(np.sqrt(np.linalg.det(matrix[:, :2])), 1 / 0.4, rtol=1e-5)
    with pytest.raises(ValueError, match="degenerate"):
        similarity_transform(np.ones((5, 2)), FFHQ_TEMPLATE_512)


def test_a_crop_aligned_small_and_resized_lines_up_with_one_aligned_large():
    image = texture()
    points = placed_landmarks(0.8, 0.1, (300.0, 300.0))
    small, large = align_face(image, points, 128), align_face(image, points, 512)
    assert np.allclose(rescale_matrix(small.matrix, 4.0), large.matrix, atol=1e-6)
    resized = cv2.resize(small.crop, (512, 512), interpolation=cv2.INTER_CUBIC)
    blurred = cv2.GaussianBlur(large.crop, (0, 0), 3)
    phase, _ = cv2.phaseCorrelate(
        cv2.GaussianBlur(resized, (0, 0), 3)[..., 0].astype(np.float64),
        blurred[..., 0].astype(np.float64),
    )
    assert max(abs(phase[0]), abs(phase[1])) < 0.3  # no half-pixel drift between sizes


def test_shrinking_warps_filter_first_instead_of_aliasing():
    image = texture(800)
    shrink = rescale_matrix(np.array([[1.0, 0, 0], [0, 1.0, 0]]), 0.25)  # as cv2.resize maps
    warped = warp_area(image, shrink, (200, 200))
    area = cv2.resize(image, (200, 200), interpolation=cv2.INTER_AREA)
    naive = cv2.warpAffine(image, shrink, (200, 200), flags=cv2.INTER_LINEAR)
    error = np.abs(warped.astype(int) - area.astype(int))[4:-4, 4:-4].mean()
    aliasing = np.abs(naive.astype(int) - area.astype(int))[4:-4, 4:-4].mean()
    assert error < 2.0 < aliasing


def test_the_face_mask_is_soft_stays_inside_the_crop_and_scales_with_it():
    for size in (128, 512):
        mask = face_mask(size)
        assert mask.dtype == np.float32 and mask.shape == (size, size)
        assert mask[size // 2, size // 2] == pytest.approx(1.0)
        edges = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
        assert edges.max() < 1e-3  # never reaches the square's sides: no box
        assert 0.05 < ((mask > 0.02) & (mask < 0.98)).mean() < 0.3  # a real feather
    ramp = [
        int(((face_mask(s)[s // 2] > 0.02) & (face_mask(s)[s // 2] < 0.98)).sum())
        for s in (256, 512)
    ]
    assert ramp[1] == pytest.approx(2 * ramp[0], abs=3)  # feather in proportion to the face
    with pytest.raises(ValueError):
        face_mask(64)[0, 0] = 1.0  # shared and read-only


@pytest.mark.parametrize(("scale", "angle"), [(0.2, 0.0), (0.45, 0.25), (0.9, -0.15), (1.6, 0.05)])
def test_pasting_the_unrestored_crop_round_trips_the_face_and_nothing_else(scale, angle):
    image = texture()
    points = placed_landmarks(scale, angle, (300.0, 310.0))
    aligned = align_face(image, points, 512)
    canvas = image.copy()
    x0, y0, x1, y1 = paste_face(canvas, aligned.crop, aligned.matrix)
    outside = np.ones(image.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(canvas[outside], image[outside])
    core = core_of(aligned.matrix, 512, image.shape)
    error = np.abs(canvas.astype(int) - image.astype(int))
    assert core.sum() > 100
    # bicubic there and back; a crop smaller than the face (scale 1.6) cannot keep all detail
    assert error[core].mean() < (8.0 if scale > 1 else 2.5)
    assert np.array_equal(canvas[~core], image[~core]) or error[~core].mean() < 1.0


def test_strength_zero_changes_nothing_and_strength_scales_the_change():
    image = texture()
    points = placed_landmarks(0.5, 0.0, (300.0, 300.0))
    aligned = align_face(image, points, 512)
    inverted = 255 - aligned.crop
    untouched, half, full = image.copy(), image.copy(), image.copy()
    paste_face(untouched, inverted, aligned.matrix, strength=0.0)
    paste_face(half, inverted, aligned.matrix, strength=0.5)
    paste_face(full, inverted, aligned.matrix, strength=1.0)
    assert np.array_equal(untouched, image)
    change_half = np.abs(half.astype(int) - image.astype(int))
    change_full = np.abs(full.astype(int) - image.astype(int))
    core = core_of(aligned.matrix, 512, image.shape)
    assert np.allclose(change_half[core], change_full[core] / 2, atol=1.5)


def test_colour_matching_removes_a_cast_but_keeps_the_detail():
    crop = align_face(texture(), placed_landmarks(0.5, 0.0, (300.0, 300.0)), 256).crop
    cast = np.clip(crop.astype(np.float32) + np.float32([25.0, 5.0, -20.0]), 0, 255)
    matched = match_colour(cast, crop)
    core = face_mask(256) > 0.5
    before = np.abs(cast.mean(axis=(0, 1)) - crop.mean(axis=(0, 1))).max()
    after = np.abs(matched[core].mean(axis=0) - crop[core].mean(axis=0)).max()
    assert before > 15 and after < 3
    assert np.corrcoef(matched[..., 1].ravel(), crop[..., 1].ravel())[0, 1] > 0.95


@pytest.fixture(scope="module")
def face_store(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> ModelStore:
    """Stand-in GFPGAN and CodeFormer, plus the shared Real-ESRGAN when it is there."""
    shared = SHARED_DIR / "models" / SR_FILE
    directory = build_face_store(
        tmp_path_factory.mktemp("face-store"),
        model_dir,
        sr_weights=shared if shared.is_file() else None,
    )
    return ModelStore.from_directory(directory)


@pytest.fixture(scope="module")
def face_sessions(face_store: ModelStore) -> SessionCache:
    return SessionCache(face_store, InferenceSettings(), Metrics())


def test_a_network_gets_its_input_normalised_as_the_manifest_says(face_sessions):
    model: LoadedModel = face_sessions.get("gfpgan-1.4")
    crop = align_face(texture(), placed_landmarks(0.5, 0.0, (300.0, 300.0)), 512).crop
    restored = restore_with_network(model, crop)  # [0,255] → [-1,1] → identity → [0,255]
    assert restored.dtype == np.float32 and restored.shape == (512, 512, 3)
    assert np.abs(restored - crop).max() < 0.01


def test_codeformer_gets_the_fidelity_on_its_float64_weight_input(face_sessions):
    model = face_sessions.get("codeformer")
    crop = np.full((512, 512, 3), 200, np.uint8)
    for fidelity in (0.0, 0.25, 1.0):
        restored = restore_with_network(model, crop, fidelity)
        # the stand-in subtracts the weight in [-1, 1] space: 127.5 levels per unit
        assert restored.mean() == pytest.approx(200 - 127.5 * fidelity, abs=0.01)


def test_the_shared_real_esrgan_quadruples_a_face_crop(face_store, face_sessions):
    if not face_store.is_installed("realesr-general-x4v3"):
        pytest.skip(f"../shared/models/{SR_FILE} is not present")
    smooth = cv2.GaussianBlur(texture(), (0, 0), 4)  # a picture, not noise SR would remove
    crop = align_face(smooth, placed_landmarks(0.5, 0.0, (300.0, 300.0)), 64).crop
    out = super_resolve(face_sessions.get("realesr-general-x4v3"), crop)  # float16 inside
    assert out.shape == (256, 256, 3) and out.dtype == np.float32
    back = cv2.resize(out, (64, 64), interpolation=cv2.INTER_AREA)
    assert np.abs(back - crop).mean() < 12  # the same picture, restored


def test_the_noise_estimate_is_calibrated_on_white_noise():
    rng = np.random.default_rng(3)
    smooth = cv2.GaussianBlur(texture(256), (0, 0), 4)
    for sigma in (4.0, 8.0, 12.0):
        noisy = np.clip(smooth + rng.normal(0, sigma, smooth.shape), 0, 255).astype(np.uint8)
        assert estimate_noise(noisy) == pytest.approx(sigma, rel=0.2)


def degrade(rgb: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(0)
    blurred = cv2.GaussianBlur(rgb.astype(np.float32), (0, 0), 2.0)
    noisy = np.clip(blurred + rng.normal(0, 8, rgb.shape), 0, 255).astype(np.uint8)
    _, jpeg = cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 35])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR)


@pytest.mark.shared_data
def test_the_classic_engine_brings_a_degraded_face_closer_to_the_original(
    shared_dir, face_sessions
):
    photo = cv2.imread(str(shared_dir / "testdata/faces/fr_two_people.jpg"))[..., ::-1].copy()
    face = detect_faces(face_sessions.get("centerface"), photo)[0]
    size = min(512, round(native_size(face.landmarks)))  # the engine's own choice
    clean = align_face(photo, face.landmarks, size).crop
    degraded = align_face(degrade(photo), face.landmarks, size).crop
    core = face_mask(size) > 0.5

    def psnr(a: np.ndarray) -> float:
        return 10 * np.log10(255**2 / np.mean((a[core].astype(float) - clean[core]) ** 2))

    assert blur_need(clean) < 0.4
    assert blur_need(degraded) > 0.7
    assert psnr(enhance_classic(degraded)) > psnr(degraded) + 0.3
    sharp_change = np.abs(enhance_classic(clean).astype(int) - clean.astype(int))[core].mean()
    assert sharp_change < 5.0  # a sharp face is only touched up
