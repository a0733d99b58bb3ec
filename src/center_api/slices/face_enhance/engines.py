"""Face enhancement engines: which one runs, and how one face goes through it.

- ``classic``: no weights, always available (`classic`).
- ``sr``: Real-ESRGAN x4 on each face's aligned crop at its own resolution (at most
  `SR_INPUT_SIZES`), resized back to the face's size.
- a restoration network (manifest task ``face_restoration``): GFPGAN v1.4, RestoreFormer++,
  CodeFormer (with its fidelity input), GPEN-BFR-512; each is a manifest entry whose ``input``
  says how its tensor is normalised.

``auto`` picks the first installed of `PREFERENCE`, then ``sr``, then ``classic`` (and falls back
per face: see the service and `quality`).

Small faces go through an upscaling path: every engine works on the aligned crop at a working
size of at least `WORK_SIZES` [0] pixels (a 24 px face is restored at 128 px, then shrunk back
through an area filter when pasted).
"""

from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from center_api.sdk import (
    InferenceKernel,
    LoadedModel,
    ModelNotAvailableError,
    ModelStore,
    ValidationError,
    pull_command,
)
from center_api.slices.face_enhance.classic import enhance_classic
from center_api.slices.face_enhance.networks import restore_with_network, super_resolve
from center_api.slices.face_enhance.restore import (
    TEMPLATE_SIZE,
    AlignedFace,
    align_face,
    match_colour,
    native_size,
    rescale_matrix,
)

RESTORATION_TASK = "face_restoration"
SR_MODEL = "realesr-general-x4v3"
# Best first, and among equals the ones whose licence allows commercial use first.
PREFERENCE = ("gfpgan-1.4", "restoreformer-plus-plus", "codeformer", "gpen-bfr-512")
# Crop sizes (pixels) the weightless and SR engines work at: the face's own resolution, bounded
# below so small faces are restored upscaled.
WORK_SIZES = (128, 512)
CLASSIC_SIZES = WORK_SIZES
# SR runs on a crop at half the working size: its x4 output is then shrunk by 2, which keeps
# what it recovers and averages away most of what it invents (at x4 straight, SSIM against the
# original fell on sharp and on x4-downscaled faces; bench/face_quality.py).
SR_INPUT_SIZES = (32, 128)

EngineKind = Literal["classic", "sr", "network"]


@dataclass(frozen=True)
class Engine:
    """A resolved engine: its public name, kind and manifest model (None for classic)."""

    name: str
    kind: EngineKind
    model_id: str | None = None
    auto: bool = False

    @property
    def model_label(self) -> str:
        """What X-Model shows."""
        return self.model_id or "none"


def restoration_models(store: ModelStore) -> list[str]:
    """Known restoration network ids: the preferred ones, then any other manifest entry."""
    extra = sorted(m for m in store.ids() if store.spec(m).task == RESTORATION_TASK)
    return [*PREFERENCE, *(m for m in extra if m not in PREFERENCE)]


def engine_names(store: ModelStore) -> list[str]:
    """Every value the ``engine`` option accepts."""
    return ["auto", "classic", "sr", *restoration_models(store)]


def resolve_engine(store: ModelStore, requested: str) -> Engine:
    """The engine for ``requested``, checked to be installed.

    Raises:
        ValidationError: not an engine this server knows.
        ModelNotAvailableError: its weights are not installed (the message names the pull).
    """
    if requested == "auto":
        best = _best_installed(store)
        return Engine(best.name, best.kind, best.model_id, auto=True)
    if requested == "classic":
        return Engine("classic", "classic")
    if requested == "sr":
        store.require(SR_MODEL)
        return Engine("sr", "sr", SR_MODEL)
    if requested not in restoration_models(store):
        raise ValidationError(
            f"Engine {requested!r} is not one this server knows.",
            details={"engine": requested, "known": engine_names(store)},
        )
    if requested not in store.ids():
        raise ModelNotAvailableError(
            f"Model {requested!r} is not in this server's manifest; add its entry (see the "
            f"README, face_enhance) and install it with `{pull_command(requested)}`.",
            details={"model": requested, "state": "unknown", "pull": pull_command(requested)},
        )
    store.require(requested)
    return Engine(requested, "network", requested)


def _best_installed(store: ModelStore) -> Engine:
    known = set(store.ids())
    for model_id in restoration_models(store):
        if model_id in known and store.is_installed(model_id):
            return Engine(model_id, "network", model_id)
    if SR_MODEL in known and store.is_installed(SR_MODEL):
        return Engine("sr", "sr", SR_MODEL)
    return Engine("classic", "classic")


def accepts_fidelity(store: ModelStore, engine: Engine) -> bool:
    """True when the engine's model has a fidelity input (CodeFormer)."""
    if engine.kind != "network" or engine.model_id is None:
        return False
    return bool(store.spec(engine.model_id).params.get("fidelity_input"))


@dataclass(frozen=True)
class RestoredFace:
    """A restored crop and the matrix mapping image pixels onto it."""

    crop: np.ndarray
    matrix: np.ndarray


def restore_face(
    kernel: InferenceKernel,
    engine: Engine,
    rgb: np.ndarray,
    landmarks: np.ndarray,
    fidelity: float | None = None,
) -> RestoredFace:
    """Align one face, run the engine on it and match its colour to the original.

    Blocking and CPU-heavy: the caller runs it as one kernel job.

    Args:
        kernel: gives the engine's loaded model (unused by ``classic``).
        engine: a resolved engine (see `resolve_engine`).
        rgb: (H, W, 3) uint8 image the landmarks are in.
        landmarks: (5, 2) face landmarks (see `center_api.sdk.vision.Face`).
        fidelity: CodeFormer's fidelity; ignored by models without that input.

    Returns:
        The restored crop (float32 RGB 0..255) and the matrix mapping image pixels onto it.

    Raises:
        ModelLoadError: the model failed to load or run.
    """
    native = native_size(landmarks)
    if engine.kind == "classic":
        aligned = align_face(rgb, landmarks, _bounded(native, CLASSIC_SIZES))
        restored = enhance_classic(aligned.crop).astype(np.float32)
    elif engine.kind == "sr":
        aligned, restored = _super_resolve_face(_model(kernel, engine), rgb, landmarks, native)
    else:
        model = _model(kernel, engine)
        size = (model.spec.input.size or (TEMPLATE_SIZE, TEMPLATE_SIZE))[0]
        aligned = align_face(rgb, landmarks, size)
        restored = restore_with_network(model, aligned.crop, fidelity)
    restored = match_colour(restored, aligned.crop)
    return RestoredFace(crop=restored, matrix=_matrix_for(aligned, restored.shape[0]))


def _super_resolve_face(
    model: LoadedModel, rgb: np.ndarray, landmarks: np.ndarray, native: float
) -> tuple[AlignedFace, np.ndarray]:
    """Real-ESRGAN x4 on the face at half its working size, shrunk by 2 to the working size.

    Returns the aligned crop at the working size and the restored crop (same size).
    """
    work = _bounded(native, WORK_SIZES)
    small = align_face(rgb, landmarks, _bounded(work / 2, SR_INPUT_SIZES))
    restored = super_resolve(model, small.crop)
    restored = cv2.resize(restored, (work, work), interpolation=cv2.INTER_AREA)
    return align_face(rgb, landmarks, work), restored


def _model(kernel: InferenceKernel, engine: Engine) -> LoadedModel:
    assert engine.model_id is not None
    return kernel.model(engine.model_id)


def _bounded(native: float, bounds: tuple[int, int]) -> int:
    low, high = bounds
    return int(min(high, max(low, round(native))))


def _matrix_for(aligned: AlignedFace, size: int) -> np.ndarray:
    """The alignment matrix for the restored crop's size (SR returns 4x the aligned crop)."""
    if size == aligned.size:
        return aligned.matrix
    return rescale_matrix(aligned.matrix, size / aligned.size)
