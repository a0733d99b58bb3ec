"""Face enhancement options and answers (msgspec; constraints appear in OpenAPI)."""

from typing import Annotated, Literal

from msgspec import Meta, Struct

from center_api.sdk import OutputFormat, image_form

EngineName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._+-]*$",
        description=(
            "auto (the best installed engine, per face only where the face needs it and a "
            "quality check keeps the result; else the face is left as it is), classic (no "
            "weights), sr (Real-ESRGAN on each face), or a restoration network from the "
            "manifest: gfpgan-1.4, restoreformer-plus-plus, codeformer, gpen-bfr-512. A named "
            "engine restores every selected face at full strength."
        ),
    ),
]
FaceAction = Literal[
    "enhance",
    "skip_small",
    "skip_limit",
    "skip_not_center",
    "skip_clean",
    "skip_unrecoverable",
    "skip_quality",
]
# Why a face was left as it is, for the report (``skipped`` in JSON answers).
SKIP_REASONS: dict[FaceAction, str] = {
    "skip_small": "smaller than min_eye_distance",
    "skip_limit": "beyond max_faces",
    "skip_not_center": "not the centre face",
    "skip_clean": "already clean and sharp: nothing to restore",
    "skip_unrecoverable": "its detail is gone: restoring would invent a face",
    "skip_quality": "the quality check preferred the face as it was",
}


class DetectOptions(Struct, forbid_unknown_fields=True, kw_only=True):
    """Which detected faces are worked on."""

    max_faces: Annotated[
        int, Meta(ge=1, le=100, description="Enhance at most this many faces (the largest).")
    ] = 20
    only_center_face: Annotated[
        bool, Meta(description="Only the face nearest the image centre.")
    ] = False
    min_eye_distance: Annotated[
        float,
        Meta(
            ge=8,
            le=1000,
            description=(
                "Faces whose eyes are closer than this (pixels) are skipped. The default takes "
                "faces down to about 24 px, restored through an upscaled working crop."
            ),
        ),
    ] = 9.0


class FaceEnhanceOptions(DetectOptions, forbid_unknown_fields=True, kw_only=True):
    """Options of one face enhancement."""

    engine: EngineName = "auto"
    blend: Annotated[
        int,
        Meta(ge=0, le=100, description="0 = the input unchanged, 100 = the full restoration."),
    ] = 100
    fidelity: (
        Annotated[
            float,
            Meta(
                ge=0.0,
                le=1.0,
                description="CodeFormer only: 0 = more restoration, 1 = closer to the input.",
            ),
        ]
        | None
    ) = None
    upscale: Annotated[
        int, Meta(ge=1, le=2, description="2 doubles the output size (faces at full detail).")
    ] = 1
    return_faces: Annotated[
        Literal["none", "beside", "instead"],
        Meta(
            description=(
                "beside: JSON with the image (base64) and the faces; instead: the faces as JSON, "
                "no image (nothing is restored)."
            )
        ),
    ] = "none"
    allow_no_face: Annotated[
        bool,
        Meta(description="No face found: answer the input unchanged instead of 422."),
    ] = False
    format: OutputFormat = "png"


class FaceInfo(Struct, kw_only=True):
    """One detected face, in input-image pixels."""

    box: list[float]  # x1, y1, x2, y2
    score: float
    landmarks: list[list[float]]  # left eye, right eye, nose, left and right mouth corner
    eye_distance: float
    action: FaceAction
    engine: str | None = None  # the engine that restored it (enhance answers only)
    strength: float | None = None  # share of the restoration pasted
    degradation: float | None = None  # 0 clean .. 1 clearly degraded (auto only)


class FaceReport(Struct, kw_only=True):
    """The faces of one image and what enhancement does (or would do) with each."""

    width: int
    height: int
    detector: str
    faces_found: int
    faces: list[FaceInfo]
    success: bool = True


# Multipart forms: one image source (file | image_url | image_file_b64) plus the options.
FaceEnhanceForm = image_form(FaceEnhanceOptions, "FaceEnhanceForm")
DetectForm = image_form(DetectOptions, "DetectForm")
