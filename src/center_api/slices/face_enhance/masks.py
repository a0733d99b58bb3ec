"""The paste-back mask of one face, drawn from its 468-point mesh.

The restored crop goes back through the face's own outline (the mesh's face oval), not a fixed
ellipse: its edge follows the jaw, cheeks and hairline, pulled in and feathered in proportion
to the face so the transition lies on skin and never shows as an oval. The eyes and the mouth
get only `FEATURE_STRENGTH` of the restoration: engines that over-sharpen leave white rings
round irises and garish teeth there first, and glasses frames sit on them. The template
ellipse stays an outer bound, so nothing outside the crop's face region changes.
"""

import cv2
import numpy as np

from center_api.sdk.vision import FaceMesh
from center_api.sdk.vision.face_mesh import FACE_OVAL, LEFT_EYE, LIPS_OUTER, RIGHT_EYE
from center_api.slices.face_enhance.restore import face_mask

FEATURE_STRENGTH = 0.5
_FEATHER = 0.04  # of the crop size
_SUBPIXEL = 4  # fillPoly fractional bits


def mesh_mask(mesh: FaceMesh, matrix: np.ndarray, size: int) -> np.ndarray:
    """Soft mask (float32 0..1) of the face in its ``size`` x ``size`` aligned crop.

    Args:
        mesh: the face's landmarks in image pixels.
        matrix: 2x3 affine mapping image pixels onto the crop.
        size: the crop's side.
    """
    feather = max(1, round(size * _FEATHER))
    outline = _filled(mesh, FACE_OVAL, matrix, size)
    outline = cv2.erode(outline, np.ones((feather, feather), np.uint8))
    mask: np.ndarray = cv2.GaussianBlur(outline.astype(np.float32), (0, 0), feather / 2.0)
    features = np.zeros((size, size), np.uint8)
    for indices in (LEFT_EYE, RIGHT_EYE, LIPS_OUTER):
        features |= _filled(mesh, indices, matrix, size)
    grown = cv2.dilate(features, np.ones((feather, feather), np.uint8))
    held = cv2.GaussianBlur(grown.astype(np.float32), (0, 0), feather / 2.0)
    mask *= 1.0 - (1.0 - FEATURE_STRENGTH) * held
    return np.minimum(mask, face_mask(size))


def _filled(mesh: FaceMesh, indices: tuple[int, ...], matrix: np.ndarray, size: int) -> np.ndarray:
    points = mesh.xy(indices) @ matrix[:, :2].T + matrix[:, 2]
    shape = np.zeros((size, size), np.uint8)
    fixed = np.round(points * (1 << _SUBPIXEL)).astype(np.int32)
    cv2.fillPoly(shape, [fixed], 1, lineType=cv2.LINE_8, shift=_SUBPIXEL)
    return shape
