"""The subject of a photo, as every mode needs it: colours, mask, decontaminated colours."""

from typing import NamedTuple

import numpy as np

from center_api.sdk import InferenceKernel
from center_api.sdk.vision import (
    clean_mask,
    estimate_foreground,
    keep_opaque,
    network_scale,
    predict_alpha,
    solid_interior,
)
from center_api.slices.background_replace.band_matting import matte_band
from center_api.slices.background_replace.edges import edge_band, refine_edge_alpha


class Subject(NamedTuple):
    """A photo split into subject and background.

    The photo itself is not part of it: only the blur mode looks at it again, and holding it
    here would keep a whole image alive through every other mode.

    Attributes:
        alpha: (H, W) uint8 subject coverage (times the input's own alpha, if it had one).
        foreground: (H, W, 3) uint8 subject colours, the old background removed at soft edges
            (the photo's own colours when decontamination is off).
    """

    alpha: np.ndarray
    foreground: np.ndarray


def cut_subject(
    kernel: InferenceKernel, model_id: str, pixels: np.ndarray, *, clean: bool, pure: bool
) -> Subject:
    """Segment ``pixels`` (RGB or RGBA uint8); runs inside a kernel slot.

    Args:
        kernel: gives the loaded model.
        model_id: the segmentation model.
        pixels: (H, W, 3|4) uint8.
        clean: remove specks and fill pinholes in the mask.
        pure: re-measure the soft edge from the colours, solve the uncertain band's alpha
            (hair and fur: strands, not a grey haze), then estimate decontaminated
            foreground colours (together they leave no halo of the old background).
    """
    rgb = np.ascontiguousarray(pixels[..., :3])
    alpha = predict_alpha(kernel.model(model_id), rgb)
    if clean:
        alpha = clean_mask(alpha)
    if pure:
        alpha = refine_edge_alpha(rgb, alpha, edge_band(rgb.shape))
        alpha = matte_band(rgb, alpha, _network_scale(kernel, model_id, alpha.shape))
    if pixels.shape[2] == 4:  # the input's own transparency stays transparent
        alpha = ((alpha.astype(np.uint16) * pixels[..., 3] + 127) // 255).astype(np.uint8)
    foreground = estimate_foreground(rgb, alpha) if pure else rgb
    return Subject(alpha, foreground)


def solid_subject(
    kernel: InferenceKernel, model_id: str, subject: Subject, pixels: np.ndarray
) -> Subject:
    """The subject with a solid interior; runs inside a kernel slot.

    Deep inside the subject alpha becomes 1 (`solid_interior`: a dark suit or a shadowed neck
    lets no new background through) and every opaque pixel keeps the photo's colour bit for
    bit: blending and decontamination stay in the edge band.

    Args:
        kernel: gives the model's input size (how coarse its mask is).
        model_id: the segmentation model that made ``subject``.
        subject: `cut_subject`'s answer for ``pixels``.
        pixels: the photo, (H, W, 3|4) uint8.
    """
    alpha = solid_interior(subject.alpha, _network_scale(kernel, model_id, subject.alpha.shape))
    if not np.may_share_memory(subject.foreground, pixels):  # else it is the photo already
        keep_opaque(subject.foreground, pixels[..., :3], alpha)
    return Subject(alpha, subject.foreground)


def _network_scale(kernel: InferenceKernel, model_id: str, shape: tuple[int, ...]) -> float:
    """Photo pixels per network pixel: how coarse the model's mask is on this photo."""
    return network_scale(shape, kernel.store.spec(model_id).input.size or (320, 320))
