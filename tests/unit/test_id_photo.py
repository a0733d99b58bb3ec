"""ID-photo geometry: head measured from the face mesh and mask, framing, rules, warping."""

import math

import cv2
import numpy as np
import pytest

from center_api.core.errors import (
    CropTooTightError,
    FaceRotatedError,
    FaceTooSmallError,
    HeadCutOffError,
)
from center_api.sdk.vision import FaceMesh
from center_api.sdk.vision.face_mesh import (
    CHIN,
    CHIN_DROP,
    FACE_LEFT,
    FACE_RIGHT,
    LEFT_EYE,
    RIGHT_EYE,
)
from center_api.slices.background_replace.framing import (
    CROWN_SHARE_DEFAULT,
    frame_subject,
    framing,
    locate_head,
    working_scale,
)
from center_api.slices.background_replace.id_rules import HeadRules, check_face, place

EYES = (120.0, 120.0)
PASSPORT = HeadRules(head=(0.711, 0.755, 0.80), top=(0.06, 0.09, 0.12), eyes=(0.5, 0.7), max_roll=8)


def portrait(crown_y: int = 50, height: int = 320) -> np.ndarray:
    """A head (ellipse from ``crown_y``) on shoulders reaching the bottom edge."""
    alpha = np.zeros((height, 240), np.uint8)
    cv2.ellipse(alpha, (120, 130), (55, 130 - crown_y), 0, 0, 360, 255, -1)
    cv2.rectangle(alpha, (40, 200), (200, height - 1), 255, -1)
    return alpha


def mesh(roll_degrees: float = 0.0, yaw_tilt: float = 0.0) -> FaceMesh:
    """A flat 'face': eyes 40 px apart at y=120, mesh chin at y=190, cheeks at x=75/165."""
    points = np.zeros((468, 3))
    points[:, :2] = (120.0, 150.0)
    points[list(LEFT_EYE), :2] = (100.0, 120.0)
    points[list(RIGHT_EYE), :2] = (140.0, 120.0)
    points[CHIN, :2] = (120.0, 190.0)
    points[FACE_LEFT, :2], points[FACE_RIGHT, :2] = (75.0, 130.0), (165.0, 130.0)
    points[:, 2] = yaw_tilt * (points[:, 0] - 120.0)
    turn = math.radians(roll_degrees)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    points[:, :2] = (points[:, :2] - EYES) @ rotation.T + EYES
    return FaceMesh(points=points, confidence=1.0)


def turned(alpha: np.ndarray, roll_degrees: float) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D(EYES, -roll_degrees, 1.0)
    return cv2.warpAffine(alpha, matrix, alpha.shape[::-1], flags=cv2.INTER_LINEAR)


CHIN_Y = 190 + CHIN_DROP * 70


def test_crown_comes_from_the_mask_and_chin_from_the_mesh():
    head = locate_head(mesh(), portrait(crown_y=50))
    assert head.roll == pytest.approx(0.0, abs=1e-6)
    assert head.eyes == EYES
    assert head.crown == pytest.approx(50, abs=1) and head.crown_measured
    assert head.chin == pytest.approx(CHIN_Y, abs=0.5)
    assert (head.left, head.right) == pytest.approx((75.0, 165.0))


def test_a_tilted_head_is_levelled_and_measured_the_same():
    level = locate_head(mesh(), portrait())
    tilted = locate_head(mesh(12.0), turned(portrait(), 12.0))
    assert tilted.roll == pytest.approx(12.0, abs=0.1)
    assert tilted.crown == pytest.approx(level.crown, abs=2)
    assert tilted.chin == pytest.approx(level.chin, abs=0.5)
    assert locate_head(mesh(12.0), turned(portrait(), 12.0), level=False).roll == 0.0


def test_a_crown_cut_off_by_the_frame_is_flagged_and_refused():
    alpha = portrait()
    alpha[:130, 60:180] = 255  # the head runs off the top edge
    head = locate_head(mesh(), alpha)
    assert head.crown_cut and not head.crown_measured
    assert head.crown == pytest.approx(EYES[1] - CROWN_SHARE_DEFAULT * (CHIN_Y - EYES[1]))
    with pytest.raises(HeadCutOffError) as caught:
        place(head, alpha, (260, 334), PASSPORT)
    assert caught.value.details == {"part": "crown"}


def test_framing_puts_eyes_centred_and_crown_and_chin_where_the_rules_say():
    head = locate_head(mesh(8.0), turned(portrait(), 8.0))
    matrix = framing(head, (295, 413), head_height_ratio=0.5, top_margin_ratio=0.1)
    eyes = matrix @ np.array([*EYES, 1.0])
    assert eyes[0] == pytest.approx(147.5, abs=0.01)
    left, right = (
        matrix @ np.append(mesh(8.0).xy(eye).mean(axis=0), 1.0) for eye in (LEFT_EYE, RIGHT_EYE)
    )
    assert left[1] == pytest.approx(right[1], abs=0.01)  # level
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    assert eyes[1] + scale * (head.crown - EYES[1]) == pytest.approx(41.3, abs=0.01)
    assert eyes[1] + scale * (head.chin - EYES[1]) == pytest.approx(41.3 + 206.5, abs=0.01)


def test_place_keeps_every_band_and_reports_what_the_photo_measures():
    alpha = portrait(height=480)
    placement = place(locate_head(mesh(), alpha), alpha, (260, 334), PASSPORT)
    assert 0.711 <= placement.head_ratio <= 0.80
    assert 0.06 <= placement.top_margin <= 0.12
    assert 0.5 <= placement.eye_line <= 0.7
    assert placement.metadata()["head_ratio"] == round(placement.head_ratio, 3)


def test_a_body_ending_above_the_bottom_edge_is_too_tight_not_stretched():
    alpha = portrait(height=205)  # the shoulders end 12 px below the chin
    with pytest.raises(CropTooTightError) as caught:
        place(locate_head(mesh(), alpha), alpha, (260, 334), PASSPORT)
    assert caught.value.details == {"edge": "bottom"}


def test_a_head_needing_more_than_the_upscale_limit_is_too_small():
    alpha = portrait()
    with pytest.raises(FaceTooSmallError):
        place(locate_head(mesh(), alpha), alpha, (1200, 1600), PASSPORT)


def test_check_face_refuses_cut_sides_turned_and_untouched_tilted_heads():
    check_face(mesh(), (320, 240), PASSPORT, level=True)
    with pytest.raises(HeadCutOffError):
        check_face(mesh(), (320, 150), PASSPORT, level=True)  # the right cheek is outside
    with pytest.raises(HeadCutOffError):
        check_face(mesh(), (180, 240), PASSPORT, level=True)  # the chin is outside
    with pytest.raises(FaceRotatedError):
        check_face(mesh(yaw_tilt=math.tan(math.radians(40))), (320, 240), PASSPORT, level=True)
    check_face(mesh(12.0), (320, 240), PASSPORT, level=True)  # levelled: fine
    with pytest.raises(FaceRotatedError):
        check_face(mesh(12.0), (320, 240), PASSPORT, level=False)


def test_outside_the_source_the_mask_is_empty_never_repeated_edges():
    alpha = portrait()
    colours = np.dstack([alpha] * 3)
    head = locate_head(mesh(), alpha)
    matrix = framing(head, (100, 300), head_height_ratio=0.3, top_margin_ratio=0.05)
    warped_colours, warped_alpha = frame_subject(colours, alpha, matrix, (100, 300))
    assert warped_alpha.shape == (300, 100) and warped_colours.shape == (300, 100, 3)
    assert warped_alpha[-1, 50] == 0  # below the source image: nothing, the background shows
    assert warped_alpha[2, 50] == 0  # above the crown: background


def test_small_photos_shrink_first_so_the_warp_does_not_alias():
    stripes = np.zeros((400, 400), np.uint8)
    stripes[:, ::2] = 255
    matrix = np.array([[0.1, 0.0, 0.0], [0.0, 0.1, 0.0]])
    _, alpha = frame_subject(np.dstack([stripes] * 3), stripes, matrix, (40, 40))
    assert np.abs(alpha[2:-2, 2:-2].astype(int) - 128).max() <= 2  # averaged, not sampled


def test_working_scale_keeps_about_twice_the_detail_needed():
    points = np.array([[100, 120], [140, 120], [120, 140], [105, 160], [135, 160]], np.float32)
    assert working_scale(points * 10, head_px=100) == pytest.approx(200 / (400 * 3.5), rel=0.01)
    assert working_scale(points, head_px=1000) == 1.0
