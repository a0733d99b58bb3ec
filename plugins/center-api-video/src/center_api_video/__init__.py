"""Center API plugin: a pipeline on every frame of a video (PyAV), frame rate and audio kept.

Imports `center_api.sdk` and nothing else of the server.
"""

from collections.abc import Sequence

from center_api import sdk
from center_api_video.schemas import VideoOptions
from center_api_video.service import VIDEO_TOOL, VideoService


class VideoProvider(sdk.Provider):
    """The plugin's service."""

    service = sdk.provide(VideoService, scope=sdk.Scope.REQUEST)


class VideoSlice(sdk.Slice):
    """Cut out (or any pipeline) every frame of a video, as a task."""

    name = VIDEO_TOOL
    title = "Video"
    description = (
        "Run a pipeline (default: cutout) on every frame of an MP4, MOV, WebM or GIF, with "
        "temporal smoothing of the mask; WebM VP9 with alpha, or H.264 MP4 on a colour."
    )
    path = "/process/video"
    options_type = VideoOptions
    capabilities = sdk.Capabilities(
        produces=("video",), accepts_image=False, accepts_video=True, supports_tasks=True
    )

    def build_router(self) -> sdk.Router:
        """The route ``POST /api/v1/process/video``."""
        from center_api_video.router import build_router  # noqa: PLC0415

        return build_router(self.path)

    def providers(self) -> Sequence[sdk.Provider]:
        """The video service."""
        return [VideoProvider()]

    async def run(
        self, container: sdk.AsyncContainer, image: bytes, options: sdk.Struct
    ) -> sdk.SliceResult:
        """Process one video (``image`` is the video's bytes; tasks call this)."""
        if not isinstance(options, VideoOptions):
            raise sdk.ValidationError("video takes VideoOptions.")
        service = await container.get(VideoService)
        return await service.process(image, options)


SLICE = VideoSlice()
