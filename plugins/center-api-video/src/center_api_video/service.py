"""The video service: check and queue (the route), then process frame by frame (the task)."""

import asyncio
import base64
import binascii
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import msgspec
from litestar.datastructures import UploadFile

from center_api import sdk
from center_api_video.probe import VideoInfo, probe
from center_api_video.schemas import (
    DEFAULT_STEPS,
    InvalidVideoError,
    VideoForm,
    VideoLimits,
    VideoOptions,
    VideoTooLargeError,
)
from center_api_video.transcode import Transcode, encode_frame

VIDEO_TOOL = "video"
# Steps a frame cannot go through: pipelines of their own.
REFUSED = frozenset({VIDEO_TOOL, "process"})
T = TypeVar("T")


def limits_of(settings: sdk.Settings) -> VideoLimits:
    """``[slices.video.config]`` checked as `VideoLimits` (defaults where absent; env strings too).

    Raises:
        ValidationError: an unknown or bad key in the config.
    """
    entry = settings.slices.get(VIDEO_TOOL)
    try:
        return msgspec.convert(entry.config if entry else {}, VideoLimits, strict=False)
    except msgspec.ValidationError as exc:
        raise sdk.ValidationError(f"[slices.video.config]: {exc}") from exc


class VideoService:
    """Videos through a pipeline: always as a task, one frame at a time."""

    def __init__(self, steps: sdk.ToolSteps, settings: sdk.Settings) -> None:
        """Frames go through ``steps``; limits come from ``settings``."""
        self._steps, self._limits = steps, limits_of(settings)

    async def accept(self, form: VideoForm) -> tuple[bytes, str | None, VideoOptions, VideoInfo]:
        """The route's checks, before anything is queued: steps, then the video's headers.

        Raises:
            ValidationError / FeatureDisabledError: a bad step (named).
            MissingSourceError / MultipleSourcesError: not exactly one video.
            VideoTooLargeError, UnsupportedVideoError, InvalidVideoError, VideoLimitError.
        """
        options = VideoOptions(
            steps=form.steps or list(DEFAULT_STEPS),
            bg_color=form.bg_color,
            smoothing=form.smoothing,
        )
        self._steps.plan(options.steps, refuse=REFUSED)
        if options.bg_color:
            sdk.vision.parse_color(options.bg_color)
        data, name = await self._read(form)
        info = await asyncio.to_thread(probe, data, self._limits)
        return data, name, options, info

    async def process(self, data: bytes, options: VideoOptions) -> sdk.SliceResult:
        """Run the steps on every frame and encode the result (in a task).

        Progress is reported per frame and the task may pause or be cancelled between
        frames; a resumed video starts again from its first frame (an encoder cannot be
        resumed mid-stream).
        """
        plan = self._steps.plan(options.steps, refuse=REFUSED)
        info = await asyncio.to_thread(probe, data, self._limits)
        progress = sdk.current_progress()
        begin = time.perf_counter()
        job = Transcode(data, info, options, self._limits)
        with ThreadPoolExecutor(1, thread_name_prefix="video") as pool:
            loop = asyncio.get_running_loop()

            def call(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
                return loop.run_in_executor(pool, fn, *args)

            try:
                await call(job.open)
                # Reported before the first frame: the kernel's job phases then name the stage.
                await progress.report(0.0, f"frame 0/{info.frames}")
                while (frame := await call(job.next_frame)) is not None:
                    result = await call(encode_frame, frame)
                    for step in plan:
                        result = (await self._steps.run(step, result, record=False)).content
                    await call(job.write, frame, result)
                    total = max(info.frames, job.written)
                    await progress.report(job.written / total, f"frame {job.written}/{total}")
                    await progress.checkpoint(job.written)
                content = await call(job.finish)
            finally:
                await call(job.close)
        seconds = time.perf_counter() - begin
        metadata = {
            "frames": job.written,
            "fps": float(info.fps),
            "steps": ",".join(step.tool for step in plan),
            "frames_per_second": round(job.written / max(seconds, 1e-6), 2),
            "processing_ms": round(seconds * 1000, 1),
        }
        return sdk.SliceResult(content=content, media_type=job.media_type, metadata=metadata)

    async def _read(self, form: VideoForm) -> tuple[bytes, str | None]:
        limit = self._limits.max_bytes
        if form.file is not None and form.video_b64:
            raise sdk.MultipleSourcesError("Send the video once: `file` or `video_b64`.")
        if isinstance(form.file, UploadFile):
            data = await form.file.read(limit + 1)
            name = form.file.filename
        elif form.video_b64:
            if len(form.video_b64) > limit * 4 // 3 + 4:
                raise VideoTooLargeError(f"The video is over {limit} bytes.")
            try:
                data = base64.b64decode(form.video_b64, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise InvalidVideoError("video_b64 is not base64.") from exc
            name = None
        else:
            raise sdk.MissingSourceError("Send a video as `file` (or `video_b64`).")
        if len(data) > limit:
            raise VideoTooLargeError(
                f"The video is over {limit} bytes.", details={"max_bytes": limit}
            )
        return data, name
