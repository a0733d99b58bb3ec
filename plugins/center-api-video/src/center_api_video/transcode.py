"""One video, frame by frame: demux and decode, hand each frame out, smooth and encode results.

Every method runs on one worker thread (PyAV objects stay on it), never on the event loop. The
input is read packet by packet, so only the frame being processed is decoded: a video is never
held decoded in memory. Audio packets are re-encoded for the output container as they come
(Opus in WebM, AAC in MP4), so the sound stays in sync and is kept whole.
"""

import contextlib
import io
from collections import deque
from collections.abc import Iterator
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from center_api import sdk
from center_api_video.probe import VideoInfo, open_video
from center_api_video.schemas import (
    InvalidVideoError,
    VideoLimitError,
    VideoLimits,
    VideoOptions,
)

# A pixel whose colour moved less than this (0..255, any channel) since the last frame is
# "still": its alpha keeps `smoothing` of the previous frame's, so noise does not flicker.
STILL = 12
_VP9 = {"deadline": "realtime", "cpu-used": "8", "row-mt": "1", "crf": "30", "b": "0"}
_X264 = {"preset": "veryfast", "crf": "20"}
_MAX_EARLY_AUDIO = 4096  # audio packets held until the first frame fixes the output size


class Transcode:
    """Reads ``data`` and writes the processed video (WebM VP9 + alpha, or MP4 H.264)."""

    def __init__(
        self, data: bytes, info: VideoInfo, options: VideoOptions, limits: VideoLimits
    ) -> None:
        """Nothing is opened yet: `open` does it on the worker thread."""
        self._data, self.info, self._options, self._limits = data, info, options, limits
        self._background = (
            np.array(sdk.vision.parse_color(options.bg_color)[:3], dtype=np.float32)
            if options.bg_color
            else None
        )
        self._frames: deque[np.ndarray] = deque()
        self._early_audio: list[av.Packet] = []
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # input rgb, alpha
        self._size: tuple[int, int] | None = None
        self.decoded = 0
        self.written = 0

    @property
    def media_type(self) -> str:
        """``video/mp4`` on a colour, else ``video/webm``."""
        return "video/mp4" if self._background is not None else "video/webm"

    def open(self) -> None:
        """Open the input and the output (its streams come with the first written frame)."""
        self._input = open_video(self._data)
        self._video = self._input.streams.video[0]
        self._audio = self._input.streams.audio[0] if self._input.streams.audio else None
        self._video.thread_type = "AUTO"
        streams = [s for s in (self._video, self._audio) if s is not None]
        self._packets: Iterator[av.Packet] = self._input.demux(*streams)
        self._buffer = io.BytesIO()
        kind = "mp4" if self._background is not None else "webm"
        self._output = av.open(self._buffer, mode="w", format=kind)
        self._out_video: av.video.stream.VideoStream | None = None
        self._out_audio: av.audio.stream.AudioStream | None = None

    def next_frame(self) -> np.ndarray | None:
        """The next frame as RGB (H, W, 3) uint8, or None at the end.

        Raises:
            VideoLimitError: more frames, or larger ones, than the limits (headers can lie).
        """
        while not self._frames:
            try:
                packet = next(self._packets, None)
                if packet is None:
                    return None
                if packet.stream is not self._video:
                    self._on_audio(packet)
                    continue
                decoded = [frame.to_ndarray(format="rgb24") for frame in packet.decode()]
            except av.FFmpegError as exc:  # a damaged stream: bad input, not a server fault
                raise InvalidVideoError(
                    f"The video cannot be decoded after frame {self.decoded}.",
                    details={"frame": self.decoded},
                ) from exc
            self._frames.extend(self._checked(frame) for frame in decoded)
        return self._frames.popleft()

    def write(self, frame: np.ndarray, result: bytes) -> None:
        """Encode the steps' ``result`` (image bytes) for the input ``frame``."""
        rgba = _rgba(result)
        if self._out_video is None:
            self._start(rgba.shape[1] // 2 * 2, rgba.shape[0] // 2 * 2)
        assert self._size is not None and self._out_video is not None
        width, height = self._size
        frame = frame[:height, :width]  # an odd size loses its last row / column
        if rgba.shape[:2] != (height, width):
            spare = (rgba.shape[0] - height, rgba.shape[1] - width)
            is_odd = spare[0] in (0, 1) and spare[1] in (0, 1)
            rgba = rgba[:height, :width] if is_odd else _fit(rgba, width, height)
        same = frame.shape[:2] == (height, width)
        alpha = self._smoothed(frame if same else None, rgba[..., 3])
        color = rgba[..., :3]
        if same:  # cut-out pixels are stored as transparent black: show the photo under them
            color = np.where((rgba[..., 3:] > 0), color, frame)
        if self._background is None:
            picture = av.VideoFrame.from_ndarray(np.dstack([color, alpha]), format="rgba")
        else:
            weight = alpha[..., None].astype(np.float32) / 255.0
            flat = color * weight + self._background * (1.0 - weight)
            picture = av.VideoFrame.from_ndarray(np.rint(flat).astype(np.uint8), format="rgb24")
        picture.pts = self.written
        self.written += 1
        self._output.mux(self._out_video.encode(picture))

    def finish(self) -> bytes:
        """Flush the encoders (the rest of the audio too) and return the file's bytes."""
        for packet in self._packets:  # audio after the last frame
            if packet.stream is not self._video:
                self._on_audio(packet)
        if self._out_video is None:
            raise sdk.ValidationError("The video has no frame.")
        self._output.mux(self._out_video.encode(None))
        if self._out_audio is not None:
            self._output.mux(self._out_audio.encode(None))
        self._output.close()
        return self._buffer.getvalue()

    def close(self) -> None:
        """Close both containers (safe to call twice, and after a failure)."""
        for container in (getattr(self, "_input", None), getattr(self, "_output", None)):
            if container is not None:
                with contextlib.suppress(av.FFmpegError, ValueError, OSError):
                    container.close()

    def _checked(self, frame: np.ndarray) -> np.ndarray:
        self.decoded += 1
        limits = self._limits
        if self.decoded > limits.max_frames:
            raise VideoLimitError(
                f"The video has more than {limits.max_frames} frames.",
                details={"limit": "frames", "max": limits.max_frames},
            )
        height, width = frame.shape[:2]
        if width > limits.max_width or height > limits.max_height:
            raise VideoLimitError(
                f"A frame is {width}x{height}; this server takes at most "
                f"{limits.max_width}x{limits.max_height}.",
                details={"limit": "frame_size", "width": width, "height": height},
            )
        return frame

    def _start(self, width: int, height: int) -> None:
        self._size = (width, height)
        rate = Fraction(self.info.fps)
        if self._background is None:
            stream = self._output.add_stream("libvpx-vp9", rate=rate, options=dict(_VP9))
            stream.pix_fmt = "yuva420p"
        else:
            stream = self._output.add_stream("libx264", rate=rate, options=dict(_X264))
            stream.pix_fmt = "yuv420p"
        stream.width, stream.height = width, height
        stream.codec_context.time_base = 1 / rate
        self._out_video = stream
        if self._audio is not None:
            self._out_audio = self._audio_stream(self._audio)
        for packet in self._early_audio:
            self._on_audio(packet)
        self._early_audio.clear()

    def _audio_stream(self, source: av.audio.stream.AudioStream) -> av.audio.stream.AudioStream:
        layout = "mono" if source.codec_context.channels == 1 else "stereo"
        if self._background is None:
            stream = self._output.add_stream("libopus", rate=48000)
        else:
            stream = self._output.add_stream("aac", rate=source.codec_context.sample_rate or 48000)
        stream.layout = layout
        return stream

    def _on_audio(self, packet: av.Packet) -> None:
        if self._out_video is None:  # the output starts with the first frame
            if len(self._early_audio) >= _MAX_EARLY_AUDIO:
                raise sdk.ValidationError("The video's first frame comes too late.")
            self._early_audio.append(packet)
            return
        if self._out_audio is None:
            return
        for frame in packet.decode():
            if isinstance(frame, av.AudioFrame):
                frame.pts = None  # the encoder numbers its own samples
                self._output.mux(self._out_audio.encode(frame))

    def _smoothed(self, frame: np.ndarray | None, alpha: np.ndarray) -> np.ndarray:
        """``alpha`` with still pixels keeping ``smoothing`` of the previous frame's alpha."""
        strength = self._options.smoothing
        previous, self._previous = self._previous, None
        if frame is None or strength <= 0:
            return alpha
        if previous is not None:
            last_frame, last_alpha = previous
            moved = np.abs(frame.astype(np.int16) - last_frame).max(axis=2) >= STILL
            blended = strength * last_alpha + (1.0 - strength) * alpha
            alpha = np.where(moved, alpha, np.rint(blended)).astype(np.uint8)
        self._previous = (frame, alpha.astype(np.float32))
        return alpha


def _rgba(data: bytes) -> np.ndarray:
    try:
        with Image.open(io.BytesIO(data)) as image:
            return np.asarray(image.convert("RGBA"))
    except (OSError, ValueError) as exc:
        raise sdk.ValidationError("The last step gave no image for a frame.") from exc


def _fit(rgba: np.ndarray, width: int, height: int) -> np.ndarray:
    resized = Image.fromarray(rgba).resize((width, height), Image.Resampling.BILINEAR)
    return np.asarray(resized)


def encode_frame(frame: np.ndarray) -> bytes:
    """PNG bytes of an RGB frame (fast compression: it is read back at once)."""
    out = io.BytesIO()
    Image.fromarray(frame).save(out, format="PNG", compress_level=1)
    return out.getvalue()
