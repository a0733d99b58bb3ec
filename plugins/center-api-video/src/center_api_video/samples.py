"""Sample clips made with PyAV (a subject on a plain background, a sine tone) and a flicker measure.

For tests and benchmarks: nothing in the server uses it.
"""

import io
from fractions import Fraction
from typing import Any

import av
import numpy as np


def scene(width: int, height: int, shift: int = 0) -> np.ndarray:
    """An orange ellipse (the subject) on light grey, moved ``shift`` pixels right."""
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy, rx, ry = width / 2 + shift, height / 2, width * 0.22, height * 0.32
    inside = ((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 <= 1.0
    image = np.full((height, width, 3), 225, dtype=np.uint8)
    image[inside] = (230, 110, 30)
    return image


def make_clip(  # noqa: PLR0913 - a test helper's knobs
    *,
    frames: int = 8,
    size: tuple[int, int] = (96, 72),
    fps: int = 12,
    container: str = "mp4",
    audio: bool = True,
    noise: float = 0.0,
    moving: bool = True,
    base: np.ndarray | None = None,
) -> bytes:
    """An H.264 (mp4/mov), VP9 (webm) or GIF clip; with a 440 Hz tone when ``audio``.

    The frames show `scene` at ``size``, or ``base`` (an RGB photo, its size then); moving:
    shifted 2 pixels right a frame; noise: Gaussian sensor noise of this sigma.
    """
    if base is not None:
        size = (base.shape[1] // 2 * 2, base.shape[0] // 2 * 2)
        base = base[: size[1], : size[0]]
    width, height = size
    out_buffer = io.BytesIO()
    output: Any = av.open(out_buffer, "w", format=container)  # PyAV objects, loosely typed
    codec = {"mp4": "libx264", "mov": "libx264", "webm": "libvpx-vp9", "gif": "gif"}[container]
    video = output.add_stream(codec, rate=fps)
    video.width, video.height = width, height
    video.pix_fmt = "rgb8" if container == "gif" else "yuv420p"
    sound = None
    if audio and container != "gif":
        sound = output.add_stream("libopus" if container == "webm" else "aac", rate=48000)
        sound.layout = "mono"
    rng = np.random.default_rng(7)
    for index in range(frames):
        shift = index * 2 if moving else 0
        still = scene(width, height, shift) if base is None else np.roll(base, shift, axis=1)
        picture = still.astype(np.float32)
        if noise:
            picture += rng.normal(0, noise, picture.shape)
        frame = av.VideoFrame.from_ndarray(np.clip(picture, 0, 255).astype(np.uint8), "rgb24")
        frame.pts = index
        output.mux(video.encode(frame))
    if sound is not None:
        samples = round(48000 * frames / fps)
        tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)
        for start in range(0, samples, 960):
            chunk = tone[start : start + 960].astype(np.float32)[None, :]
            piece = av.AudioFrame.from_ndarray(chunk, format="flt", layout="mono")
            piece.sample_rate, piece.pts, piece.time_base = 48000, start, Fraction(1, 48000)
            output.mux(sound.encode(piece))
        output.mux(sound.encode(None))
    output.mux(video.encode(None))
    output.close()
    return out_buffer.getvalue()


def read_result(data: bytes) -> dict[str, Any]:
    """Frames (RGBA, alpha read with libvpx for VP9), frame rate, codecs, audio duration."""
    container: Any = av.open(io.BytesIO(data))
    stream = container.streams.video[0]
    name = stream.codec_context.name
    # FFmpeg's own VP9 decoder drops the alpha channel; libvpx's keeps it.
    decoder = av.codec.CodecContext.create("libvpx-vp9", "r") if name == "vp9" else None
    frames = []
    audio_samples = 0
    streams = [stream, *container.streams.audio]
    for packet in container.demux(*streams):
        if packet.stream is stream:
            decoded = decoder.decode(packet) if decoder else packet.decode()
            frames += [f.to_ndarray(format="rgba") for f in decoded]
        else:
            audio_samples += sum(f.samples for f in packet.decode())
    audio = container.streams.audio[0] if container.streams.audio else None
    result = {
        "format": container.format.name,
        "codec": name,
        "fps": stream.average_rate,
        "frames": frames,
        "audio_codec": audio.codec_context.name if audio else None,
        "audio_s": audio_samples / audio.codec_context.sample_rate if audio else 0.0,
    }
    container.close()
    return result


def flicker(frames: list[np.ndarray], *, edges_only: bool = False) -> float:
    """Mean frame-to-frame alpha change, 0..1 (0: a perfectly steady mask).

    ``edges_only``: over the pixels that are soft (alpha 0.05..0.95) in some frame only, where
    flicker shows; else over every pixel.
    """
    alphas = np.stack([frame[..., 3].astype(np.float32) / 255 for frame in frames])
    if len(alphas) < 2:  # a change needs two frames
        return 0.0
    changes = np.abs(np.diff(alphas, axis=0))
    if edges_only:
        soft = ((alphas > 0.05) & (alphas < 0.95)).any(axis=0)
        return float(changes[:, soft].mean()) if soft.any() else 0.0
    return float(changes.mean())
