"""Runs a pipeline: plan every step first, then one step at a time, each output the next input."""

import time

from center_api.sdk import PlannedStep, SliceResult, ToolSteps, ValidationError, current_progress
from center_api.slices.process.schemas import PipelineOptions, Steps

PIPELINE_TOOL = "process"


class ProcessService:
    """The pipeline of one request (or task)."""

    def __init__(self, steps: ToolSteps) -> None:
        """Steps are planned and run through ``steps``."""
        self._steps = steps

    def plan(self, steps: Steps) -> list[PlannedStep]:
        """Check every step before any work (`ToolSteps.plan`; a pipeline is no step)."""
        return self._steps.plan(steps, refuse={PIPELINE_TOOL})

    async def run(self, image: bytes, options: PipelineOptions) -> SliceResult:
        """Plan ``options.steps``, then run them on ``image`` (`run_plan`); tasks call this."""
        return await self.run_plan(image, self.plan(options.steps))

    async def run_plan(
        self, image: bytes, plan: list[PlannedStep], *, refresh: bool = False
    ) -> SliceResult:
        """Run the planned steps on ``image``; the last step's answer, with X-Steps metadata.

        Each step goes through the result cache (``refresh``: every step computed again).
        ``cache`` is ``HIT`` when every step was answered from it, else ``MISS``;
        ``step_cache`` says it per step.

        In a task, progress is reported per step and the task may pause between steps; a
        paused pipeline starts again from its first step when resumed (intermediate images
        are not kept).

        Raises:
            AppException: what a step raised (its usage row has the code).
        """
        progress = current_progress()
        begin = time.perf_counter()
        data, result = image, None
        timings: list[float] = []
        outcomes: list[str] = []
        for step in plan:
            if step.index > 1:
                await progress.checkpoint(step.index - 1)
            stage = f"step {step.index}/{len(plan)}: {step.tool}"
            await progress.report((step.index - 1) / len(plan), stage, span=1 / len(plan))
            started = time.perf_counter()
            result = await self._steps.run(step, data, refresh=refresh)
            timings.append(round((time.perf_counter() - started) * 1000, 1))
            outcomes.append(str(result.metadata.get("cache", "")))
            if step.index < len(plan) and not result.media_type.startswith("image/"):
                raise ValidationError(
                    f"Step {step.index} ({step.tool}) gave {result.media_type}, not an image.",
                    details={"step": step.index, "tool": step.tool},
                )
            data = result.content
        assert result is not None  # plan() refuses an empty pipeline
        await progress.report(1.0, "done")
        metadata = dict(result.metadata)
        metadata["steps"] = ",".join(step.tool for step in plan)
        metadata["step_ms"] = ",".join(f"{ms:g}" for ms in timings)
        metadata.pop("cache", None)
        if all(outcomes):  # every step went through the cache
            metadata["cache"] = "HIT" if set(outcomes) == {"HIT"} else "MISS"
            metadata["step_cache"] = ",".join(outcomes)
        metadata["processing_ms"] = round((time.perf_counter() - begin) * 1000, 1)
        return SliceResult(content=result.content, media_type=result.media_type, metadata=metadata)
