"""ID-photo geometry: head measured from landmarks and mask, framing, warping."""

import math

import cv2
import numpy as np
import pytest

from center_api.sdk.vision.faces import Face
from center_api.slices.background_replace.framing import (
    CHIN_BELOW_MOUTH,
    frame_subject,
    framing,
    locate_head,
    working_scale,
)

EYES = (120.0, 120.0)


def portrait(crown_y: int = 50) -> np.ndarray:
    """A head (ellipse from ``crown_y``) on shoulders reaching the bottom edge."""
    alpha = np.zeros((320, 240), np.uint8)
    cv2.ellipse(alpha, (120, 130), (55, 130 - crown_y), 0, 0, 360, 255, -1)
    cv2.rectangle(alpha, (40, 200), (200, 319), 255, -1)
    return alpha


def face(roll_degrees: float = 0.0) -> Face:
    points = np.array([[100, 120], [140, 120], [120, 140], [105, 160], [135, 160]], np.float32)
    turn = math.radians(roll_degrees)
    rotation = np.array([[math.cos(turn), -math.sin(turn)], [math.sin(turn), math.cos(turn)]])
    turned = (points - EYES) @ rotation.T + EYES
    return Face(box=(80, 90, 160, 190), score=0.9, landmarks=turned.astype(np.float32))


def turned(alpha: np.ndarray, roll_degrees: float) -> np.ndarray:
    matrix = cv2.getRotationMatrix2D(EYES, -roll_degrees, 1.0)
    return cv2.warpAffine(alpha, matrix, alpha.shape[::-1], flags=cv2.INTER_LINEAR)


def test_crown_comes_from_the_mask_and_chin_from_the_landmarks():
    head = locate_head(face(), portrait(crown_y=50))
    assert head.roll == pytest.approx(0.0, abs=1e-6)
    assert head.eyes == EYES
    assert head.crown == pytest.approx(50, abs=1)
    assert head.chin == pytest.approx(160 + CHIN_BELOW_MOUTH * 40, abs=0.5)


def test_a_tilted_head_is_levelled_and_measured_the_same():
    level = locate_head(face(), portrait())
    tilted = locate_head(face(12.0), turned(portrait(), 12.0))
    assert tilted.roll == pytest.approx(12.0, abs=0.1)
    assert tilted.crown == pytest.approx(level.crown, abs=2)
    assert tilted.chin == pytest.approx(level.chin, abs=0.5)
    untouched = locate_head(face(12.0), turned(portrait(), 12.0), level=False)
    assert untouched.roll == 0.0


def test_a_crown_cut_off_by_the_frame_is_estimated_from_the_face():
    alpha = portrait()
    alpha[:130, 60:180] = 255  # the head runs off the top edge
    head = locate_head(face(), alpha)
    span = head.chin - EYES[1]
    assert head.crown == pytest.approx(EYES[1] - 1.05 * span, abs=0.5)


def test_framing_puts_eyes_centred_and_crown_and_chin_where_the_rules_say():
    head = locate_head(face(8.0), turned(portrait(), 8.0))
    matrix = framing(head, (295, 413), head_height_ratio=0.5, top_margin_ratio=0.1)
    eyes = matrix @ np.array([*EYES, 1.0])
    assert eyes[0] == pytest.approx(147.5, abs=0.01)
    left_eye, right_eye = (matrix @ np.append(p, 1.0) for p in face(8.0).landmarks[:2])
    assert left_eye[1] == pytest.approx(right_eye[1], abs=0.01)  # level
    scale = math.sqrt(abs(np.linalg.det(matrix[:, :2])))
    assert eyes[1] + scale * (head.crown - EYES[1]) == pytest.approx(41.3, abs=0.01)
    assert eyes[1] + scale * (head.chin - EYES[1]) == pytest.approx(41.3 + 206.5, abs=0.01)


def test_frame_subject_continues_the_shoulders_to_the_bottom_edge():
    alpha = portrait()
    colours = np.dstack([alpha] * 3)
    head = locate_head(face(), alpha)
    matrix = framing(head, (100, 300), head_height_ratio=0.3, top_margin_ratio=0.05)
    warped_colours, warped_alpha = frame_subject(colours, alpha, matrix, (100, 300))
    assert warped_alpha.shape == (300, 100) and warped_colours.shape == (300, 100, 3)
    assert warped_alpha[-1, 50] == 255  # below the source image: the edge row repeated
    assert warped_alpha[2, 50] == 0  # above the crown: background


def test_small_photos_shrink_first_so_the_warp_does_not_alias():
    stripes = np.zeros((400, 400), np.uint8)
    stripes[:, ::2] = 255
    matrix = np.array([[0.1, 0.0, 0.0], [0.0, 0.1, 0.0]])
    _, alpha = frame_subject(np.dstack([stripes] * 3), stripes, matrix, (40, 40))
    assert np.abs(alpha.astype(int) - 128).max() <= 2  # averaged, not sampled


def test_working_scale_keeps_about_twice_the_detail_needed():
    big = face()
    big_landmarks = big.landmarks * 10
    large = Face(box=big.box, score=big.score, landmarks=big_landmarks)
    assert working_scale(large, head_px=100) == pytest.approx(200 / (400 * 3.5), rel=0.01)
    assert working_scale(face(), head_px=1000) == 1.0
