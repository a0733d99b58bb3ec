"""Salient-object segmentation: image → alpha matte, with each model's own pre/post-processing.

Shared by every slice that needs a subject mask (cutout, background_replace).
"""

from typing import Annotated, Any

import cv2
import numpy as np
from msgspec import Meta

from center_api.core.errors import ValidationError
from center_api.kernel.model_store import InputSpec, ModelStore, OutputSpec
from center_api.kernel.sessions import LoadedModel

SEGMENTATION_TASK = "segmentation"
# What cutout and background replace use unless asked otherwise: u2netp with int8 convolutions
# (vendored; the same IoU as u2netp on the shared ground truth, about half the CPU a run).
DEFAULT_SEGMENTATION_MODEL = "u2netp-int8"

SegmentationModelId = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        pattern=r"^[a-z0-9][a-z0-9._-]*$",
        description="Segmentation model id from the manifest (`center-api models list`).",
    ),
]


def check_segmentation_model(store: ModelStore, model_id: str) -> None:
    """Fail before queueing if ``model_id`` is unknown or not installed.

    Raises:
        ValidationError: not a segmentation model of the manifest.
        ModelNotAvailableError: its weights are missing (the message names the pull command).
    """
    known = [m for m in store.ids() if store.spec(m).task == SEGMENTATION_TASK]
    if model_id not in known:
        raise ValidationError(
            f"Model {model_id!r} is not a segmentation model this server knows.",
            details={"model": model_id, "known": known},
        )
    store.require(model_id)


def foreground_metadata(alpha: np.ndarray) -> dict[str, Any]:
    """``foreground_found`` and, when found, the subject's box (X-Foreground-* headers)."""
    box = foreground_box(alpha)
    if box is None:
        return {"foreground_found": False}
    left, top, width, height = box
    return {
        "foreground_found": True,
        "foreground_left": left,
        "foreground_top": top,
        "foreground_width": width,
        "foreground_height": height,
    }


def predict_alpha(model: LoadedModel, rgb: np.ndarray) -> np.ndarray:
    """Return an (H, W) uint8 alpha for an (H, W, 3) uint8 RGB image.

    The network runs at its own input size; the mask is upsampled back to the image size.
    """
    height, width = rgb.shape[:2]
    mask = predict_probability(model, rgb)
    mask = cv2.resize(mask, (width, height), interpolation=cv2.INTER_LINEAR)
    # In place: the full-size float mask is 4 bytes a pixel, each temporary another 4.
    np.multiply(mask, 255.0, out=mask)
    np.add(mask, 0.5, out=mask)
    np.clip(mask, 0, 255, out=mask)
    return mask.astype(np.uint8)


def predict_probability(model: LoadedModel, rgb: np.ndarray, *, flip: bool = False) -> np.ndarray:
    """The subject's probability at the network's own size: float32 in [0, 1].

    Args:
        model: a loaded segmentation model.
        rgb: (H, W, 3) uint8 RGB; a view (a crop of a larger photo) is fine.
        flip: also run the mirror image and average the two answers (test-time
            augmentation: one more run, steadier edges).
    """
    tensor = to_tensor(rgb, model.spec.input)
    mask = _probability(model, tensor)
    if flip:
        mirrored = _probability(model, np.ascontiguousarray(tensor[..., ::-1]))
        mask = 0.5 * (mask + mirrored[:, ::-1])
    return mask


def _probability(model: LoadedModel, tensor: np.ndarray) -> np.ndarray:
    outputs = model.run({model.input_names[0]: tensor})
    return postprocess(_first_plane(outputs[0]), model.spec.output)


def to_tensor(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """Resize and normalise to a 1x3xHxW float32 tensor as ``spec`` says."""
    if spec.size is None:
        raise ValueError("segmentation models need a fixed input size in the manifest")
    width, height = spec.size
    shrinking = rgb.shape[0] > height or rgb.shape[1] > width
    interpolation = cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    image = cv2.resize(rgb, (width, height), interpolation=interpolation).astype(np.float32)
    if spec.color == "BGR":
        image = image[..., ::-1]
    if spec.scale == "max":
        image /= max(float(image.max()), 1e-6)
    elif spec.scale == "255":
        image /= 255.0
    image -= np.asarray(spec.mean, dtype=np.float32)
    image /= np.asarray(spec.std, dtype=np.float32)
    return np.ascontiguousarray(image.transpose(2, 0, 1)[None])


def postprocess(mask: np.ndarray, spec: OutputSpec) -> np.ndarray:
    """Apply the model's activation and normalisation; returns float32 in [0, 1]."""
    mask = mask.astype(np.float32, copy=False)
    if spec.activation == "sigmoid":
        mask = 1.0 / (1.0 + np.exp(-mask))
    if spec.normalize == "minmax":
        low, high = float(mask.min()), float(mask.max())
        mask = (mask - low) / (high - low) if high - low > 1e-6 else np.zeros_like(mask)
    return np.clip(mask, 0.0, 1.0)


def _first_plane(output: np.ndarray) -> np.ndarray:
    plane = np.asarray(output)
    while plane.ndim > 2:
        plane = plane[0]
    return plane


def foreground_box(alpha: np.ndarray, threshold: int = 128) -> tuple[int, int, int, int] | None:
    """(left, top, width, height) of pixels with alpha ≥ threshold, or None if there are none."""
    rows = np.flatnonzero((alpha >= threshold).any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero((alpha[rows[0] : rows[-1] + 1] >= threshold).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1] - cols[0] + 1), int(rows[-1] - rows[0] + 1)
