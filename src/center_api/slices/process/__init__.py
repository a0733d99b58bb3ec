"""The process slice: pipelines, several tools run in order as one call or one batch task.

May import: `center_api.sdk` and this package.
"""

from collections.abc import Sequence

from dishka import AsyncContainer, Provider
from litestar import Router
from msgspec import Struct

from center_api.sdk import Capabilities, Slice, SliceResult, ValidationError
from center_api.slices.process.provider import ProcessProvider
from center_api.slices.process.schemas import PipelineOptions
from center_api.slices.process.service import PIPELINE_TOOL, ProcessService


class ProcessSlice(Slice):
    """Chain tools: text erase, cutout, background, enhance... as one job."""

    name = PIPELINE_TOOL
    title = "Pipelines"
    description = (
        "Run several tools in order on one image (each output the next input), or on many "
        "images as a batch task; named pipelines come from config."
    )
    path = "/process"
    options_type = PipelineOptions
    capabilities = Capabilities(produces=("image", "mask", "json"), gives_image=True)

    def build_router(self) -> Router:
        """Routes under /api/v1/process."""
        from center_api.slices.process.router import build_router  # noqa: PLC0415

        return build_router()

    def providers(self) -> Sequence[Provider]:
        """The pipeline service."""
        return [ProcessProvider()]

    async def run(self, container: AsyncContainer, image: bytes, options: Struct) -> SliceResult:
        """Run one image through the pipeline (used by tasks and batch children)."""
        if not isinstance(options, PipelineOptions):
            raise ValidationError("process takes PipelineOptions.")
        service = await container.get(ProcessService)
        return await service.run(image, options)


SLICE = ProcessSlice()
