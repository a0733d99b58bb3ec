"""Face alignment and seamless paste-back, shared by every face restoration engine.

The pipeline GFPGAN and CodeFormer use: five landmarks → a similarity transform onto the FFHQ
512x512 template → restore the aligned crop → warp it back with the inverse transform and blend
it in through a soft face-shaped mask. Three things keep the paste invisible:

- the mask is an ellipse over the face (forehead to chin), shrunk and blurred in proportion to
  the crop, so its feather scales with the face and never reaches the crop's square edges;
- warps that shrink use an area filter first (no aliasing when a 512 px crop goes back onto a
  40 px face, nor when a big face is aligned onto a small crop);
- the restored face's mean colour (Lab) is matched to the original face's before pasting.

Every function here is CPU-heavy: call them inside a kernel slot.
"""

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from center_api.sdk.vision import row_strips

TEMPLATE_SIZE = 512
# FFHQ alignment of the five landmarks (left eye, right eye, nose, left and right mouth corner,
# as seen in the image): the template GFPGAN, CodeFormer and GPEN were trained on.
FFHQ_TEMPLATE_512 = np.array(
    [
        [192.98138, 239.94708],
        [318.90277, 240.1936],
        [256.63416, 314.01935],
        [201.26117, 371.41043],
        [313.08905, 371.15118],
    ],
    dtype=np.float64,
)
# The face ellipse in template pixels (centre and semi-axes before feathering): forehead to
# chin, cheek to cheek; the feather is cut from inside it, so the mask never leaves it.
_ELLIPSE_CENTRE = (256.0, 285.0)
_ELLIPSE_AXES = (185.0, 215.0)
_FEATHER = 0.05  # of the crop size: 26 px at 512


@dataclass(frozen=True)
class AlignedFace:
    """A face warped onto the template.

    Attributes:
        crop: (size, size, 3) uint8 RGB.
        matrix: 2x3 affine mapping image pixels to crop pixels.
    """

    crop: np.ndarray
    matrix: np.ndarray

    @property
    def size(self) -> int:
        """Side of the square crop in pixels."""
        return int(self.crop.shape[0])


def similarity_transform(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Least-squares similarity (rotation, uniform scale, translation) from source to target.

    Umeyama's closed form over all points, without reflection.

    Args:
        source: (N, 2) points.
        target: (N, 2) points, same order.

    Returns:
        A 2x3 float64 affine matrix.

    Raises:
        ValueError: the source points are degenerate (all equal).
    """
    src, dst = np.asarray(source, np.float64), np.asarray(target, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    variance = float((src_c**2).sum(axis=1).mean())
    if variance < 1e-9:
        raise ValueError("the landmarks are degenerate")
    u, sigma, vt = np.linalg.svd(dst_c.T @ src_c / len(src))
    sign = np.diag([1.0, -1.0 if np.linalg.det(u) * np.linalg.det(vt) < 0 else 1.0])
    rotation = u @ sign @ vt
    scale = float(np.trace(np.diag(sigma) @ sign)) / variance
    matrix = np.empty((2, 3), np.float64)
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - scale * rotation @ src_mean
    return matrix


def alignment_matrix(landmarks: np.ndarray, size: int = TEMPLATE_SIZE) -> np.ndarray:
    """The 2x3 matrix mapping image pixels onto a ``size`` x ``size`` FFHQ-aligned crop.

    The template is scaled pixel-centre exact, like `rescale_matrix` and ``cv2.resize``, so a
    crop aligned at one size and resized to another lines up with one aligned at that size.
    """
    factor = size / TEMPLATE_SIZE
    return similarity_transform(landmarks, (FFHQ_TEMPLATE_512 + 0.5) * factor - 0.5)


def matrix_scale(matrix: np.ndarray) -> float:
    """Uniform scale of an affine matrix (crop pixels per image pixel)."""
    return float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))


def native_size(landmarks: np.ndarray) -> float:
    """Side of the aligned crop whose pixels are as large as the image's around this face."""
    return TEMPLATE_SIZE / matrix_scale(alignment_matrix(landmarks))


def align_face(rgb: np.ndarray, landmarks: np.ndarray, size: int = TEMPLATE_SIZE) -> AlignedFace:
    """Warp the face with ``landmarks`` onto a ``size`` x ``size`` FFHQ-aligned crop.

    Parts of the crop outside the image are mirrored from inside it.
    """
    matrix = alignment_matrix(landmarks, size)
    crop = warp_area(rgb, matrix, (size, size), border=cv2.BORDER_REFLECT_101)
    return AlignedFace(crop=crop, matrix=matrix)


def rescale_matrix(matrix: np.ndarray, factor: float) -> np.ndarray:
    """The matrix for the same crop resampled ``factor`` times larger (pixel-centre exact)."""
    scaled = matrix * factor
    scaled[:, 2] += 0.5 * factor - 0.5
    return scaled


def warp_area(
    src: np.ndarray,
    matrix: np.ndarray,
    dsize: tuple[int, int],
    *,
    border: int = cv2.BORDER_CONSTANT,
) -> np.ndarray:
    """``cv2.warpAffine`` that reads only the source region it needs and never aliases.

    Bicubic (two bilinear resamplings, there and back, visibly soften a face). When the warp
    shrinks (scale < 1) the region is first resized with an area filter to the target's pixel
    pitch, so fine detail averages instead of aliasing.

    Args:
        src: (H, W) or (H, W, C) image.
        matrix: 2x3 affine mapping source pixels to destination pixels.
        dsize: (width, height) of the result.
        border: OpenCV border mode for pixels that fall outside ``src``.
    """
    region, shifted = _needed_region(src, matrix, dsize)
    scale = matrix_scale(shifted)
    if scale < 1.0:
        height, width = region.shape[:2]
        new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
        fx, fy = new_w / width, new_h / height
        region = cv2.resize(region, (new_w, new_h), interpolation=cv2.INTER_AREA)
        # resize maps x to (x + 0.5) * f - 0.5: undo it inside the matrix
        linear = shifted[:, :2] @ np.diag([1.0 / fx, 1.0 / fy])
        offset = shifted[:, :2] @ np.array([0.5 / fx - 0.5, 0.5 / fy - 0.5])
        shifted = np.column_stack([linear, shifted[:, 2] + offset])
    return cv2.warpAffine(
        region, shifted, dsize, flags=cv2.INTER_CUBIC, borderMode=border, borderValue=0
    )


def _needed_region(
    src: np.ndarray, matrix: np.ndarray, dsize: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """The part of ``src`` the destination reads (plus a margin) and the matrix for it."""
    width, height = dsize
    corners = np.array([[0, 0], [width, 0], [0, height], [width, height]], np.float64)
    inverse = cv2.invertAffineTransform(matrix)
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = np.floor(mapped.min(axis=0)).astype(int) - 2
    x1, y1 = np.ceil(mapped.max(axis=0)).astype(int) + 3
    x0, y0 = max(int(x0), 0), max(int(y0), 0)
    x1, y1 = min(int(x1), src.shape[1]), min(int(y1), src.shape[0])
    if x1 - x0 < 2 or y1 - y0 < 2:
        return src, matrix
    shifted = matrix.copy()
    shifted[:, 2] += matrix[:, :2] @ np.array([x0, y0], np.float64)
    return src[y0:y1, x0:x1], shifted


@lru_cache(maxsize=16)
def face_mask(size: int) -> np.ndarray:
    """The soft face mask of a ``size`` x ``size`` aligned crop: 1 inside, 0 outside.

    Read-only float32; its feather is proportional to ``size``, so once warped back it is
    proportional to the face.
    """
    factor = size / TEMPLATE_SIZE
    feather = max(1, round(size * _FEATHER))
    shape = np.zeros((size, size), np.float32)
    centre = (round(_ELLIPSE_CENTRE[0] * factor), round(_ELLIPSE_CENTRE[1] * factor))
    axes = (
        max(1, round(_ELLIPSE_AXES[0] * factor) - feather),
        max(1, round(_ELLIPSE_AXES[1] * factor) - feather),
    )
    cv2.ellipse(shape, centre, axes, 0.0, 0.0, 360.0, 1.0, thickness=-1, lineType=cv2.LINE_AA)
    mask: np.ndarray = cv2.GaussianBlur(shape, (2 * feather + 1, 2 * feather + 1), feather / 2.5)
    mask.setflags(write=False)
    return mask


def match_colour(restored: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Shift ``restored``'s mean Lab colour over the face to ``reference``'s.

    Restoration networks drift in colour (warmer skin, colourised greys); the original face is
    the best reference for the skin around it. Both are aligned crops (sizes may differ).

    Returns:
        float32 RGB in 0..255, the size of ``restored``.
    """
    restored_lab = _lab(restored)
    shift = _face_mean(_lab(reference)) - _face_mean(restored_lab)
    rgb = cv2.cvtColor(restored_lab + shift.astype(np.float32), cv2.COLOR_LAB2RGB)
    return np.clip(rgb * 255.0, 0.0, 255.0)


def _lab(rgb: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def _face_mean(lab: np.ndarray) -> np.ndarray:
    """Mean Lab over the face's core (mask > 0.5)."""
    core = face_mask(lab.shape[0]) > 0.5
    return lab[core].mean(axis=0).astype(np.float64)


def paste_face(
    canvas: np.ndarray,
    restored: np.ndarray,
    matrix: np.ndarray,
    strength: float = 1.0,
    mask: np.ndarray | None = None,
) -> tuple[int, int, int, int] | None:
    """Blend a restored aligned crop back into ``canvas`` in place.

    Args:
        canvas: (H, W, 3) uint8 image the face was aligned from (or a copy of it).
        restored: (m, m, 3) restored crop, uint8 or float 0..255.
        matrix: 2x3 affine mapping image pixels to crop pixels *at size m*.
        strength: 0..1, how much of the restoration shows (the mask is scaled by it).
        mask: (m, m) float mask in crop pixels (default: the template's soft face ellipse).

    Returns:
        The changed region as (x0, y0, x1, y1), or None when the face is off the canvas.
    """
    size = restored.shape[0]
    inverse = cv2.invertAffineTransform(matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    x0, y0 = (max(0, int(v)) for v in np.floor(mapped.min(axis=0)))
    x1 = min(canvas.shape[1], int(np.ceil(mapped[:, 0].max())) + 1)
    y1 = min(canvas.shape[0], int(np.ceil(mapped[:, 1].max())) + 1)
    if x1 <= x0 or y1 <= y0:
        return None
    shifted = inverse.copy()
    shifted[:, 2] -= (x0, y0)
    dsize = (x1 - x0, y1 - y0)
    soft = face_mask(size) if mask is None else mask
    alpha = np.clip(warp_area(soft, shifted, dsize), 0.0, 1.0)
    alpha *= np.float32(strength)
    # A large face's region is most of a big photo: warp one channel at a time (OpenCV warps
    # channels independently, so nothing changes) and blend it in strips, in place.
    restored = restored.astype(np.float32)
    for channel in range(canvas.shape[2]):
        plane = np.ascontiguousarray(restored[..., channel])
        face = warp_area(plane, shifted, dsize, border=cv2.BORDER_REPLICATE)
        for rows in row_strips(y1 - y0, x1 - x0):
            target = canvas[y0 + rows.start : y0 + rows.stop, x0:x1, channel]
            region = target.astype(np.float32)
            blended = region + alpha[rows] * (face[rows] - region)
            target[...] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return x0, y0, x1, y1
