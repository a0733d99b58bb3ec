"""Pipeline routes: one image through the steps now, or many as a batch task."""

from typing import Annotated, Any

from center_api import sdk
from center_api.slices.process.inputs import batch_inputs
from center_api.slices.process.schemas import BatchForm, PipelineOptions, ProcessForm
from center_api.slices.process.service import PIPELINE_TOOL, ProcessService

_STEPS = (
    "`steps` is a JSON list of {\"tool\": NAME, ...that tool's options} (each tool's options "
    "are in GET /api/v1/tools/{name}, `options_schema`), or a named pipeline from config. "
    "Every step is checked before any work: an unknown tool or option answers 422 naming the "
    "step; a switched-off tool FEATURE_DISABLED; a step after one that gives JSON 422."
)


@sdk.image_post(
    "/image",
    summary="Run a pipeline on one image",
    description=(
        f"Each step's output image feeds the next, one inference slot at a time. {_STEPS} "
        "The image comes as `file`, `image_url` or `image_file_b64` (read once the steps "
        "passed); the answer is the last step's, with X-Steps and X-Step-Ms. Every step "
        "goes through the result cache: X-Cache is HIT when all of them were cached, "
        "X-Step-Cache says it per step; `Cache-Control: no-cache` computes every step again."
    ),
    response_description="The last step's answer; metadata in X-* headers.",
    status_code=200,
)
@sdk.inject
async def image(
    request: sdk.Request[Any, Any, Any],
    data: Annotated[ProcessForm, sdk.MULTIPART],  # type: ignore[valid-type]
    service: sdk.FromDishka[ProcessService],
    settings: sdk.FromDishka[sdk.Settings],
) -> sdk.Response[Any]:
    """Check the steps, then read the image and run them."""
    plan = service.plan(sdk.options_of(data, PipelineOptions).steps)
    photo = await sdk.read_image_source(data, settings)
    refresh = sdk.wants_fresh(request)
    return sdk.image_response(request, await service.run_plan(photo, plan, refresh=refresh))


@sdk.image_post(
    "/batch",
    summary="Run a pipeline on many images (a batch task)",
    description=(
        f"Repeat `files`, or send a zip as `archive` (image entries only, bounded). {_STEPS} "
        "Answers 202 with the batch task: one child per image, the result a zip with a "
        "manifest (GET /api/v1/tasks/{id}/result)."
    ),
    status_code=202,
    opt={"tool": None},  # not a call itself: every child is counted and billed as a task
)
@sdk.inject
async def batch(
    data: Annotated[BatchForm, sdk.MULTIPART],
    service: sdk.FromDishka[ProcessService],
    desk: sdk.FromDishka[sdk.TaskDesk],
    settings: sdk.FromDishka[sdk.Settings],
) -> sdk.Response[Any]:
    """Check the steps, read the images, queue them as one batch."""
    service.plan(data.steps)
    images, names = await batch_inputs(data, settings)
    order = sdk.TaskOrder(
        tool=PIPELINE_TOOL,
        options={"steps": data.steps},
        inputs=images,
        names=names,
        priority=data.priority,
        timeout_s=data.timeout_s,
        callback_url=data.callback_url,
    )
    return await desk.submit(order)


def build_router() -> sdk.Router:
    """A fresh router for one app."""
    return sdk.Router(path="/process", route_handlers=[image, batch], tags=["process"])
