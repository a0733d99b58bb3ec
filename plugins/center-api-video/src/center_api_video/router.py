"""``POST /api/v1/process/video``: check the video and the steps, queue a task (202)."""

from typing import Annotated, Any

import msgspec

from center_api import sdk
from center_api_video.schemas import VideoForm
from center_api_video.service import VIDEO_TOOL, VideoService


@sdk.image_post(
    "/",
    summary="Run a pipeline on every frame of a video (a task)",
    description=(
        "Send an MP4, MOV, WebM or GIF as `file`; `steps` as for /process/image (default: "
        "cutout). Always a task: 202 with its id; progress per frame; the result is WebM VP9 "
        "with alpha, or H.264 MP4 flattened on `bg_color`, at the input's frame rate, with its "
        "audio. Past the limits (bytes, duration, frame size, frames) the answer is 4xx."
    ),
    status_code=202,
)
@sdk.inject
async def submit_video(
    data: Annotated[VideoForm, sdk.MULTIPART],
    service: sdk.FromDishka[VideoService],
    desk: sdk.FromDishka[sdk.TaskDesk],
) -> sdk.Response[Any]:
    """Check, then queue the video as one task."""
    video, name, options, info = await service.accept(data)
    order = sdk.TaskOrder(
        tool=VIDEO_TOOL,
        options=msgspec.to_builtins(options),
        inputs=[video],
        names=[name],
        # One call, and every frame's pixels against the key's megapixel quota.
        megapixels=[info.frames * info.width * info.height / 1e6],
        priority=data.priority,
        timeout_s=data.timeout_s,
        callback_url=data.callback_url,
    )
    return await desk.submit(order)


def build_router(path: str) -> sdk.Router:
    """A fresh router for one app."""
    return sdk.Router(path=path, route_handlers=[submit_video], tags=["video"])
