"""Which detected faces are enhanced, and how they are reported."""

from center_api.sdk.vision import Face
from center_api.slices.face_enhance.schemas import DetectOptions, FaceAction, FaceInfo


def select_faces(
    faces: list[Face], width: int, height: int, options: DetectOptions
) -> list[FaceAction]:
    """One action per face (same order).

    Faces whose eyes are closer than ``min_eye_distance`` are skipped; with
    ``only_center_face`` only the eligible face nearest the image centre stays; then only the
    ``max_faces`` largest (by eye distance) are enhanced.
    """
    actions: list[FaceAction] = [
        "skip_small" if face.eye_distance < options.min_eye_distance else "enhance"
        for face in faces
    ]
    eligible = [i for i, action in enumerate(actions) if action == "enhance"]
    if options.only_center_face and eligible:
        centre = _nearest_to(faces, eligible, width / 2, height / 2)
        for index in eligible:
            if index != centre:
                actions[index] = "skip_not_center"
        eligible = [centre]
    by_size = sorted(eligible, key=lambda i: -faces[i].eye_distance)
    for index in by_size[options.max_faces :]:
        actions[index] = "skip_limit"
    return actions


def _nearest_to(faces: list[Face], indices: list[int], x: float, y: float) -> int:
    def distance(index: int) -> float:
        x1, y1, x2, y2 = faces[index].box
        return ((x1 + x2) / 2 - x) ** 2 + ((y1 + y2) / 2 - y) ** 2

    return min(indices, key=distance)


def face_info(face: Face, action: FaceAction) -> FaceInfo:
    """A face as JSON-safe numbers (rounded to 0.1 px)."""
    return FaceInfo(
        box=[round(float(v), 1) for v in face.box],
        score=round(float(face.score), 4),
        landmarks=[[round(float(x), 1), round(float(y), 1)] for x, y in face.landmarks],
        eye_distance=round(face.eye_distance, 1),
        action=action,
    )
