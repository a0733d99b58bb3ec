"""Open a video safely and check it against the limits before any frame is decoded.

The container is recognised from its first bytes and opened with that demuxer only: FFmpeg
never probes the bytes as a playlist or a file list (which could make it read other files or
URLs).
"""

import io
from dataclasses import dataclass
from fractions import Fraction

import av

from center_api_video.schemas import (
    InvalidVideoError,
    UnsupportedVideoError,
    VideoLimitError,
    VideoLimits,
    VideoTooLargeError,
)

FORMATS = "MP4, MOV, WebM or GIF"


@dataclass(frozen=True)
class VideoInfo:
    """What the container's headers say about a video."""

    demuxer: str
    width: int
    height: int
    fps: Fraction
    frames: int  # the header's count, or duration x frame rate
    duration_s: float
    has_audio: bool


def demuxer_of(data: bytes) -> str:
    """The FFmpeg demuxer for ``data``'s container, from its first bytes.

    Raises:
        UnsupportedVideoError: not MP4/MOV, WebM/Matroska or GIF.
    """
    head = data[:16]
    if head[4:8] in (b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"):
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "matroska"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "gif"
    raise UnsupportedVideoError(
        f"Send the video as {FORMATS}.", details={"accepted": ["mp4", "mov", "webm", "gif"]}
    )


def open_video(data: bytes) -> av.container.InputContainer:
    """An input container over ``data`` (its demuxer chosen by `demuxer_of`).

    Raises:
        UnsupportedVideoError: an unknown container.
        InvalidVideoError: the container does not open.
    """
    demuxer = demuxer_of(data)
    try:
        return av.open(io.BytesIO(data), mode="r", format=demuxer)
    except (av.FFmpegError, ValueError, OSError) as exc:
        raise InvalidVideoError("The video does not open.", details={"format": demuxer}) from exc


def probe(data: bytes, limits: VideoLimits) -> VideoInfo:
    """Check ``data`` against ``limits`` from its headers (no frame is decoded).

    Raises:
        VideoTooLargeError: more bytes than ``max_bytes`` (413).
        UnsupportedVideoError / InvalidVideoError: not a video this server reads.
        VideoLimitError: too long, too large a frame, or too many frames (details say which).
    """
    if len(data) > limits.max_bytes:
        raise VideoTooLargeError(
            f"The video is over {limits.max_bytes} bytes.", details={"max_bytes": limits.max_bytes}
        )
    with open_video(data) as container:
        info = _info(container)
    _check(info, limits)
    return info


def _info(container: av.container.InputContainer) -> VideoInfo:
    if not container.streams.video:
        raise InvalidVideoError("The file has no video stream.")
    stream = container.streams.video[0]
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    if not rate or rate <= 0 or not stream.codec_context.width:
        raise InvalidVideoError("The video's frame rate or size is unknown.")
    fps = Fraction(rate).limit_denominator(100_000)
    duration = _duration_s(container, stream)
    frames = stream.frames or round(duration * fps)
    return VideoInfo(
        demuxer=container.format.name,
        width=stream.codec_context.width,
        height=stream.codec_context.height,
        fps=fps,
        frames=max(1, int(frames)),
        duration_s=duration,
        has_audio=bool(container.streams.audio),
    )


def _duration_s(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return container.duration / av.time_base
    return 0.0


MIN_SIDE = 16


def _check(info: VideoInfo, limits: VideoLimits) -> None:
    if min(info.width, info.height) < MIN_SIDE:
        raise VideoLimitError(
            f"The video is {info.width}x{info.height}; frames need {MIN_SIDE} pixels a side.",
            details={"limit": "min_size", "width": info.width, "height": info.height},
        )
    over = {
        "duration_s": (round(info.duration_s, 3), limits.max_duration_s),
        "frames": (info.frames, limits.max_frames),
        "width": (info.width, limits.max_width),
        "height": (info.height, limits.max_height),
    }
    for name, (value, limit) in over.items():
        if value > limit:
            raise VideoLimitError(
                f"The video's {name} is {value}; this server takes at most {limit}.",
                details={"limit": name, "value": value, "max": limit},
            )
