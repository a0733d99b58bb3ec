"""ID-photo rules: can this photo make one, where the head goes, and what the result measures.

Every size has bands (see `presets`): head height, headroom above the crown, the eye line's
height above the bottom edge, and the roll the result may keep. `place` picks the head height
and headroom inside their bands nearest the size's targets such that the eye line is in its
band and no edge of the source photo cuts through the subject inside the frame (a body ending
in a straight line above the bottom edge, shoulders cut at the side). What no choice can meet
is refused with a code and a message that says what to retake:

- ``HEAD_CUT_OFF``: the crown, the chin or a side of the face is outside the photo;
- ``CROP_TOO_TIGHT``: the photo ends so close to the head that the frame cannot be filled;
- ``FACE_TOO_SMALL``: the head would have to be enlarged more than `MAX_UPSCALE` times;
- ``FACE_ROTATED``: the head is turned (yaw) or, with ``level_eyes=false``, tilted too far.
"""

from dataclasses import dataclass

import numpy as np

from center_api.sdk import CropTooTightError, FaceRotatedError, FaceTooSmallError, HeadCutOffError
from center_api.sdk.vision import FaceMesh
from center_api.sdk.vision.face_mesh import FACE_LEFT, FACE_RIGHT
from center_api.slices.background_replace.framing import Head, framing

# More enlargement than this prints a visibly soft face: ask for a closer or sharper photo.
MAX_UPSCALE = 2.5
# A head turned further than this is not "looking at the camera" (mesh yaw, degrees).
MAX_YAW_DEGREES = 25.0
# The chin needs room below it for the neck and the shoulders.
MAX_HEAD_AND_MARGIN = 0.95
# A source edge may cross the subject inside the frame for at most this share of the width.
_CUT_TOLERANCE = 0.02
_STEPS = 9
_MAX_EDGE_POINTS = 4000


@dataclass(frozen=True)
class HeadRules:
    """Bands as shares of the photo height: (min, target, max); the eye line as (min, max)."""

    head: tuple[float, float, float]
    top: tuple[float, float, float]
    eyes: tuple[float, float]
    max_roll: float


@dataclass(frozen=True)
class Placement:
    """Where the head went, measured on the result.

    Attributes:
        matrix: 2x3 affine from the source to the photo.
        head_ratio: crown to chin over the photo height.
        top_margin: crown's distance from the top edge over the height.
        eye_line: the eyes' height above the bottom edge over the height.
        roll: degrees the eye line still leans in the photo.
        scale: photo pixels per source pixel.
    """

    matrix: np.ndarray
    head_ratio: float
    top_margin: float
    eye_line: float
    roll: float
    scale: float

    def metadata(self) -> dict[str, float]:
        """The measured values for the answer (X-Head-Ratio, X-Eye-Line, ...)."""
        return {
            "head_ratio": round(self.head_ratio, 3),
            "eye_line": round(self.eye_line, 3),
            "top_margin": round(self.top_margin, 3),
            "roll_degrees": round(self.roll, 2),
        }


def check_face(mesh: FaceMesh, shape: tuple[int, ...], rules: HeadRules, *, level: bool) -> None:
    """Refuse a face the photo cannot be made from, before any matting.

    Raises:
        HeadCutOffError: the chin or a side of the face is outside the photo.
        FaceRotatedError: the head is turned, or tilted past the rules without ``level``.
    """
    height, width = shape[:2]
    chin = mesh.chin
    if chin[1] > height - 1:
        raise HeadCutOffError(
            "The chin is cut off by the bottom edge: retake with the whole head and the "
            "shoulders in the frame.",
            details={"part": "chin"},
        )
    sides = mesh.xy((FACE_LEFT, FACE_RIGHT))[:, 0]
    if sides.min() < 0 or sides.max() > width - 1:
        raise HeadCutOffError(
            "A side of the face is cut off by the photo's edge: retake with the whole face in "
            "the frame.",
            details={"part": "side"},
        )
    yaw = mesh.yaw
    if abs(yaw) > MAX_YAW_DEGREES:
        raise FaceRotatedError(
            f"The head is turned {abs(yaw):.0f} degrees to the side: retake looking straight "
            "into the camera.",
            details={"yaw_degrees": round(yaw, 1), "max_yaw_degrees": MAX_YAW_DEGREES},
        )
    if not level and abs(mesh.roll) > rules.max_roll:
        raise FaceRotatedError(
            f"The head is tilted {abs(mesh.roll):.0f} degrees: retake with the head upright, "
            "or allow level_eyes.",
            details={"roll_degrees": round(mesh.roll, 1), "max_roll_degrees": rules.max_roll},
        )


def place(
    head: Head, alpha: np.ndarray, size: tuple[int, int], rules: HeadRules, roll: float = 0.0
) -> Placement:
    """Frame the head inside the rules' bands, nearest their targets.

    Args:
        head: the measured head (see `locate_head`), in ``alpha``'s pixels.
        alpha: (H, W) uint8 subject mask of the source.
        size: (width, height) of the photo.
        rules: the size's bands.
        roll: degrees the eye line still leans after levelling (0 when levelled).

    Raises:
        HeadCutOffError: the crown is outside the source.
        CropTooTightError: every placement shows an edge of the source across the subject.
        FaceTooSmallError: the head has too few pixels for the photo.
    """
    if head.crown_cut:
        raise HeadCutOffError(
            "The top of the head is cut off by the top edge: retake with some space above the "
            "hair.",
            details={"part": "crown"},
        )
    edges = _subject_edges(alpha)
    best: tuple[tuple[float, float], Placement] | None = None
    worst_cut = ("", 0.0)
    for head_ratio in _band(rules.head):
        for top in _band(rules.top):
            if head_ratio + top > MAX_HEAD_AND_MARGIN:
                continue
            placement = _measure(head, size, (head_ratio, top), roll)
            cut = _cut(edges, placement, size)
            if cut[1] > _CUT_TOLERANCE * size[0]:
                worst_cut = max(worst_cut, cut, key=lambda c: c[1])
                continue
            key = (_outside(placement.eye_line, rules.eyes), _cost(rules, head_ratio, top))
            if best is None or key < best[0]:
                best = (key, placement)
    if best is None:
        raise _too_tight(worst_cut[0])
    placement = best[1]
    if placement.scale > MAX_UPSCALE:
        raise FaceTooSmallError(
            f"The head is {head.height:.0f} px tall; this size needs it "
            f"{placement.head_ratio * size[1]:.0f} px tall: retake closer or at a higher "
            "resolution.",
            details={
                "head_px": round(head.height),
                "needed_px": round(placement.head_ratio * size[1] / MAX_UPSCALE),
                "max_upscale": MAX_UPSCALE,
            },
        )
    return placement


def _band(band: tuple[float, float, float]) -> list[float]:
    low, target, high = band
    return sorted({target, *np.linspace(low, high, _STEPS).tolist()})


def _cost(rules: HeadRules, head_ratio: float, top: float) -> float:
    def off(value: float, band: tuple[float, float, float]) -> float:
        return ((value - band[1]) / max(band[2] - band[0], 1e-6)) ** 2

    return off(head_ratio, rules.head) + off(top, rules.top)


def _outside(value: float, band: tuple[float, float]) -> float:
    return max(band[0] - value, value - band[1], 0.0)


def _measure(
    head: Head, size: tuple[int, int], ratios: tuple[float, float], roll: float
) -> Placement:
    head_ratio, top = ratios
    matrix = framing(head, size, head_ratio, top)
    scale = head_ratio * size[1] / max(head.height, 1.0)
    eyes_y = top * size[1] + scale * (head.eyes[1] - head.crown)
    return Placement(
        matrix=matrix,
        head_ratio=head_ratio,
        top_margin=top,
        eye_line=1.0 - eyes_y / size[1],
        roll=roll,
        scale=scale,
    )


def _subject_edges(alpha: np.ndarray) -> dict[str, tuple[np.ndarray, int]]:
    """Source pixels on each edge where the subject touches it.

    Per edge: (N, 2) x, y and the stride they were sampled at (at most `_MAX_EDGE_POINTS`).
    """
    height, width = alpha.shape
    rows = {"top": (alpha[0], 0), "bottom": (alpha[-1], height - 1)}
    columns = {"left": (alpha[:, 0], 0), "right": (alpha[:, -1], width - 1)}
    found: dict[str, np.ndarray] = {}
    for name, (line, y) in rows.items():
        xs = np.flatnonzero(line >= 128)
        found[name] = np.column_stack([xs, np.full(xs.size, y)]).astype(np.float64)
    for name, (line, x) in columns.items():
        ys = np.flatnonzero(line >= 128)
        found[name] = np.column_stack([np.full(ys.size, x), ys]).astype(np.float64)
    strides = {name: max(1, -(-len(points) // _MAX_EDGE_POINTS)) for name, points in found.items()}
    return {name: (points[:: strides[name]], strides[name]) for name, points in found.items()}


def _cut(
    edges: dict[str, tuple[np.ndarray, int]], placement: Placement, size: tuple[int, int]
) -> tuple[str, float]:
    """The source edge that crosses the subject inside the photo most, and how long (px)."""
    width, height = size
    worst = ("", 0.0)
    for name, (points, stride) in edges.items():
        if points.size == 0:
            continue
        mapped = points @ placement.matrix[:, :2].T + placement.matrix[:, 2]
        inside = (
            (mapped[:, 0] > 0.5) & (mapped[:, 0] < width - 1.5)
            & (mapped[:, 1] > 0.5) & (mapped[:, 1] < height - 1.5)
        )  # fmt: skip
        length = float(inside.sum()) * stride * placement.scale
        worst = max(worst, (name, length), key=lambda c: c[1])
    return worst


def _too_tight(edge: str) -> CropTooTightError:
    where = {
        "bottom": "below the chin: retake with the shoulders in the frame",
        "top": "above the head: retake with more space above the hair",
    }.get(edge, "at the sides: retake with more room around the shoulders")
    return CropTooTightError(
        f"The photo ends too close to the subject {where}.", details={"edge": edge or "side"}
    )
