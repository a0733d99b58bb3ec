"""Per-model face detector decoding: image in, raw candidates (before NMS) out.

Each decoder takes an (H, W, 3) uint8 RGB image, builds its model's input tensor, runs the
session and returns every candidate above the score threshold in that image's pixels. Landmarks
come out in the order left eye, right eye, nose, left mouth corner, right mouth corner, with
left/right as seen in the image; for both supported models that is the network's own order
(checked on real photos), so no reordering is needed.
"""

from typing import NamedTuple

import cv2
import numpy as np

from center_api.kernel.model_store import InputSpec
from center_api.kernel.sessions import LoadedModel

_CENTERFACE_ALIGN = 32  # the network downsamples 32x; H and W must be multiples of it
_YUNET_STRIDES = (8, 16, 32)


class Candidates(NamedTuple):
    """Detections before NMS, in the pixels of the image given to the decoder."""

    boxes: np.ndarray  # (N, 4) float32 x1, y1, x2, y2
    scores: np.ndarray  # (N,) float32
    landmarks: np.ndarray  # (N, 5, 2) float32 x, y


def no_candidates() -> Candidates:
    """An empty result with the right shapes."""
    return Candidates(
        np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32)
    )


def decode_centerface(model: LoadedModel, rgb: np.ndarray, score_threshold: float) -> Candidates:
    """Run CenterFace at the image's own size (zero-padded up to a multiple of 32) and decode.

    Decoding follows the CenterFace reference: heatmap peaks above the threshold, box size from
    ``exp(scale) * stride``, centre from the peak cell plus its offset, landmarks relative to the
    box. Boxes are clipped to the image; landmarks are not.
    """
    height, width = rgb.shape[:2]
    padded_h = -(-height // _CENTERFACE_ALIGN) * _CENTERFACE_ALIGN
    padded_w = -(-width // _CENTERFACE_ALIGN) * _CENTERFACE_ALIGN
    canvas = np.zeros((padded_h, padded_w, 3), np.float32)
    canvas[:height, :width] = _channels(rgb, model.spec.input)
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None])
    heatmap, scale, offset, marks = model.run({model.input_names[0]: tensor})[:4]
    stride = float(model.spec.params.get("stride", 4))
    ys, xs = np.nonzero(heatmap[0, 0] > score_threshold)
    if ys.size == 0:
        return no_candidates()
    box_h = np.exp(scale[0, 0, ys, xs]) * stride
    box_w = np.exp(scale[0, 1, ys, xs]) * stride
    left = (xs + offset[0, 1, ys, xs] + 0.5) * stride - box_w / 2
    top = (ys + offset[0, 0, ys, xs] + 0.5) * stride - box_h / 2
    boxes = np.stack(
        [
            np.maximum(left, 0.0),
            np.maximum(top, 0.0),
            np.minimum(left + box_w, width),
            np.minimum(top + box_h, height),
        ],
        axis=1,
    )
    cell = marks[0][:, ys, xs]  # (10, N): y0, x0, y1, x1, ...
    points_x = cell[1::2].T * box_w[:, None] + left[:, None]
    points_y = cell[0::2].T * box_h[:, None] + top[:, None]
    return Candidates(
        boxes.astype(np.float32),
        heatmap[0, 0, ys, xs].astype(np.float32),
        np.stack([points_x, points_y], axis=-1).astype(np.float32),
    )


def decode_yunet(model: LoadedModel, rgb: np.ndarray, score_threshold: float) -> Candidates:
    """Run YuNet on the image resized to fit its fixed input (zero-padded) and decode.

    Every stride's anchor grid is decoded at once; the score is ``sqrt(cls * obj)``.
    """
    input_w, input_h = model.spec.input.size or (640, 640)
    height, width = rgb.shape[:2]
    ratio = min(input_w / width, input_h / height)
    resized_w = min(input_w, max(1, round(width * ratio)))
    resized_h = min(input_h, max(1, round(height * ratio)))
    interpolation = cv2.INTER_AREA if ratio < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (resized_w, resized_h), interpolation=interpolation)
    canvas = np.zeros((input_h, input_w, 3), np.float32)
    canvas[:resized_h, :resized_w] = _channels(resized, model.spec.input)
    tensor = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None])
    names = [output.name for output in model.session.get_outputs()]
    outputs = dict(zip(names, model.run({model.input_names[0]: tensor}), strict=True))
    parts = [
        _yunet_stride(outputs, stride, input_w // stride, score_threshold)
        for stride in _YUNET_STRIDES
    ]
    scale = np.array([width / resized_w, height / resized_h], np.float32)
    boxes = np.concatenate([p.boxes for p in parts]) * np.tile(scale, 2)
    boxes = np.clip(boxes, 0.0, np.array([width, height, width, height], np.float32))
    return Candidates(
        boxes.astype(np.float32),
        np.concatenate([p.scores for p in parts]),
        (np.concatenate([p.landmarks for p in parts]) * scale).astype(np.float32),
    )


def _yunet_stride(
    outputs: dict[str, np.ndarray], stride: int, columns: int, score_threshold: float
) -> Candidates:
    """Decode one stride's anchors into input-tensor pixels."""
    cls = np.clip(outputs[f"cls_{stride}"][0, :, 0], 0.0, 1.0)
    obj = np.clip(outputs[f"obj_{stride}"][0, :, 0], 0.0, 1.0)
    scores = np.sqrt(cls * obj)
    (index,) = np.nonzero(scores > score_threshold)
    if index.size == 0:
        return no_candidates()
    cell = np.stack([index % columns, index // columns], axis=1).astype(np.float32)  # col, row
    bbox = outputs[f"bbox_{stride}"][0, index]
    centre = (cell + bbox[:, :2]) * stride
    size = np.exp(bbox[:, 2:4]) * stride
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    kps = outputs[f"kps_{stride}"][0, index].reshape(-1, 5, 2)
    landmarks = (cell[:, None, :] + kps) * stride
    return Candidates(boxes, scores[index].astype(np.float32), landmarks)


def _channels(rgb: np.ndarray, spec: InputSpec) -> np.ndarray:
    """The image as float32 in the model's channel order (both detectors take raw 0..255)."""
    image = rgb.astype(np.float32)
    return image[..., ::-1] if spec.color == "BGR" else image
