"""The four scene modes: from options to the backdrop the subject is composited over."""

import numpy as np

from center_api.sdk import FormatNeedsBackgroundError
from center_api.sdk.vision import RGBA
from center_api.slices.background_replace.backgrounds import (
    blur_behind,
    gradient,
    place_image,
    solid,
)
from center_api.slices.background_replace.presets import resolve_color
from center_api.slices.background_replace.schemas import (
    BlurOptions,
    ColorOptions,
    GradientOptions,
    ImageOptions,
)
from center_api.slices.background_replace.subject import Subject

SceneOptions = ColorOptions | GradientOptions | ImageOptions | BlurOptions


def scene_colors(options: SceneOptions) -> tuple[RGBA, ...]:
    """Parse the mode's colours (before queueing, so mistakes answer at once).

    Raises:
        ValidationError: a colour is not a preset, hex value or CSS name.
        FormatNeedsBackgroundError: jpg asked with a translucent colour.
    """
    if isinstance(options, ColorOptions):
        colors: tuple[RGBA, ...] = (resolve_color(options.color),)
    elif isinstance(options, GradientOptions):
        colors = (resolve_color(options.start_color), resolve_color(options.end_color))
    elif isinstance(options, ImageOptions):
        colors = (resolve_color(options.pad_color),)
    else:
        colors = ()
    if options.format == "jpg" and any(color[3] < 255 for color in colors):
        raise FormatNeedsBackgroundError(
            "jpg has no transparency: use opaque colours or ask for png/webp.",
            details={"format": "jpg"},
        )
    return colors


def scene_backdrop(
    options: SceneOptions,
    subject: Subject,
    colors: tuple[RGBA, ...],
    source: np.ndarray | None = None,
) -> np.ndarray:
    """The new background, the size of the subject's photo.

    Args:
        options: the mode's options.
        subject: the photo split into subject and background.
        colors: `scene_colors` of ``options``.
        source: what the backdrop is made of: the decoded background photo (image mode) or
            the photo itself, RGB or RGBA (blur mode); None for the other modes.
    """
    size = (subject.alpha.shape[1], subject.alpha.shape[0])
    if isinstance(options, ColorOptions):
        return solid(size, colors[0])
    if isinstance(options, GradientOptions):
        return gradient(size, colors[0], colors[1], options.kind)
    if source is None:
        raise ValueError(f"the {type(options).__struct_config__.tag} mode needs its source pixels")
    if isinstance(options, ImageOptions):
        return place_image(source, size, options.fit, options.position, colors[0])
    sigma = options.sigma(*size)
    return blur_behind(source[..., :3], subject.alpha, subject.foreground, sigma)
