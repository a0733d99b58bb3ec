"""Video options, limits, the route's form, and the plugin's error codes."""

from typing import Annotated, Any

import msgspec
from litestar.datastructures import UploadFile

from center_api import sdk

DEFAULT_STEPS: list[dict[str, Any]] = [{"tool": "cutout"}]


class VideoOptions(sdk.Struct, forbid_unknown_fields=True, kw_only=True):
    """What to do to every frame, and how to write the result."""

    steps: Annotated[
        str | list[dict[str, Any]],
        sdk.Meta(
            description=(
                'The pipeline run on every frame: a JSON list of {"tool": NAME, ...options} '
                "or a named pipeline; default: cutout."
            )
        ),
    ] = msgspec.field(default_factory=lambda: list(DEFAULT_STEPS))
    bg_color: (
        Annotated[
            str,
            sdk.Meta(
                max_length=32,
                description=(
                    "Flatten on this colour (#RRGGBB or a CSS name) and write H.264 MP4; "
                    "default: WebM VP9 with alpha."
                ),
            ),
        ]
        | None
    ) = None
    smoothing: Annotated[
        float,
        sdk.Meta(
            ge=0.0,
            le=0.95,
            description=(
                "Temporal smoothing of the mask where the picture does not move (0: off): "
                "how much of the previous frame's alpha a still pixel keeps. Stops flicker."
            ),
        ),
    ] = 0.6


class VideoLimits(sdk.Struct, forbid_unknown_fields=True, kw_only=True):
    """``[slices.video.config]``: what a video may be; past it the route answers 4xx."""

    max_bytes: Annotated[int, sdk.Meta(ge=1)] = 30 * 1024 * 1024
    max_duration_s: Annotated[float, sdk.Meta(gt=0)] = 60.0
    max_frames: Annotated[int, sdk.Meta(ge=1)] = 1800
    max_width: Annotated[int, sdk.Meta(ge=16)] = 1920
    max_height: Annotated[int, sdk.Meta(ge=16)] = 1920


class VideoForm(sdk.TaskFields, forbid_unknown_fields=True, kw_only=True):
    """The route's form: the video (``file``, or ``video_b64``), the options, task fields."""

    file: Annotated[UploadFile | None, sdk.Meta(description="MP4, MOV, WebM or GIF.")] = None
    video_b64: Annotated[str | None, sdk.Meta(description="The video as base64.")] = None
    steps: Annotated[
        str, sdk.Meta(description="JSON list of steps or a pipeline name; default cutout.")
    ] = ""
    bg_color: Annotated[str, sdk.Meta(max_length=32)] | None = None
    smoothing: Annotated[float, sdk.Meta(ge=0.0, le=0.95)] = 0.6


class InvalidVideoError(sdk.InputError, code="INVALID_VIDEO", status=422):
    """The bytes are not a video this server reads."""


class UnsupportedVideoError(sdk.InputError, code="UNSUPPORTED_FORMAT", status=415):
    """A container other than MP4, MOV, WebM or GIF."""


class VideoTooLargeError(sdk.InputError, code="FILE_TOO_LARGE", status=413):
    """More bytes than ``max_bytes``."""


class VideoLimitError(sdk.InputError, code="VIDEO_LIMIT_EXCEEDED", status=422):
    """Longer, larger or with more frames than the limits allow (details say which)."""
