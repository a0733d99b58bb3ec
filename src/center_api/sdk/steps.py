"""Pipeline steps: other slices' ``run()`` called in process, checked before any work.

A pipeline is a list of steps, ``{"tool": NAME, ...that tool's options}``, or the name of one
defined in config (``[pipelines.<name>] steps = [...]``). `ToolSteps` (REQUEST scope: resolve
it with ``FromDishka[sdk.ToolSteps]`` or ``await container.get(sdk.ToolSteps)``) plans them,
refusing the whole pipeline before any work when a step names an unknown tool, a slice that is
switched off, an unknown or bad option, or cannot take what the step before gives; then it runs
one step at a time (each holds one inference slot while it works) and records a usage row per
step.
"""

import time
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import msgspec
import structlog
from dishka import AsyncContainer
from msgspec import Struct

from center_api.cache.results import ResultCache, with_outcome
from center_api.core.errors import AppException, FeatureDisabledError, ValidationError
from center_api.core.progress import current_progress
from center_api.core.request_facts import current_request_facts
from center_api.core.settings import Settings
from center_api.registry.loader import SliceRegistry
from center_api.registry.spec import Slice, SliceResult
from center_api.usage.recorder import UsageRecord, UsageRecorder, outcome_of

MAX_STEPS = 10


@dataclass(frozen=True)
class PlannedStep:
    """One checked step: its 1-based ``index``, the slice, and its parsed options."""

    index: int
    tool: str
    slice: Slice
    options: Struct
    gives_image: bool


class ToolSteps:
    """Plans and runs pipeline steps through the installed slices."""

    def __init__(
        self,
        registry: SliceRegistry,
        usage: UsageRecorder,
        settings: Settings,
        container: AsyncContainer,
    ) -> None:
        """Steps resolved from ``registry``, run with services from ``container``."""
        self._registry, self._usage = registry, usage
        self._pipelines = settings.pipelines
        self._container = container

    def named(self) -> dict[str, list[dict[str, Any]]]:
        """The pipelines defined in config, by name."""
        return {name: list(p.steps) for name, p in self._pipelines.items()}

    def plan(self, steps: object, *, refuse: Collection[str] = ()) -> list[PlannedStep]:
        """Check ``steps`` (a list of step objects, its JSON text, or a pipeline's name).

        ``refuse`` names tools that may not be steps here (a pipeline slice itself).

        Raises:
            ValidationError: no steps or too many, a step without a known tool, a tool that
                takes no image, an unknown or bad option, or a step that cannot take what the
                one before gives (details name the step).
            FeatureDisabledError: a step's slice is switched off.
        """
        raw = self._raw_steps(steps)
        planned: list[PlannedStep] = []
        for index, step in enumerate(raw, start=1):
            spec, options = self._checked(index, step, refuse)
            before = planned[-1] if planned else None
            if before is not None and not before.gives_image:
                raise ValidationError(
                    f"Step {index} ({spec.name}) needs an image, but step {before.index} "
                    f"({before.tool}) gives JSON with these options: it can only be the last.",
                    details={"step": index, "tool": spec.name, "after": before.tool},
                )
            gives = spec.gives_image_with(options)
            planned.append(PlannedStep(index, spec.name, spec, options, gives))
        return planned

    async def run(
        self, step: PlannedStep, image: bytes, *, record: bool = True, refresh: bool = False
    ) -> SliceResult:
        """Run one planned step on ``image``; record its usage row unless not ``record``.

        A video's frames are not recorded one by one: the video task is its usage row. The
        result cache is asked first (``refresh``: computed again, as ``Cache-Control:
        no-cache`` asks); a cached step's result says ``HIT`` or ``MISS`` in its ``cache``
        metadata.

        Raises:
            AppException: what the step's slice raised (the row records its code).
        """
        begin = time.perf_counter()
        try:
            cache = await self._container.get(ResultCache)  # steps share results with tasks
            key = cache.task_key(step.slice, image, step.options)
            run = partial(step.slice.run, self._container, image, step.options)
            result, outcome = await cache.through(key, run, refresh=refresh)
        except AppException as exc:
            if record:
                self._record(step, begin, exc.status_code, exc.code, len(image), None)
            raise
        except Exception:
            if record:
                self._record(step, begin, 500, "INTERNAL_ERROR", len(image), None)
            raise
        if record:
            self._record(step, begin, 200, None, len(image), len(result.content))
        tagged: SliceResult = with_outcome(result, outcome)
        return tagged

    def _raw_steps(self, steps: object) -> list[Any]:
        if isinstance(steps, str):
            text = steps.strip()
            if text in self._pipelines:
                steps = list(self._pipelines[text].steps)
            elif text.startswith("["):
                steps = _json_list(text)
            else:
                raise ValidationError(
                    f"No pipeline named {text[:64]!r}; send a JSON list of steps or one of "
                    f"the named pipelines.",
                    details={"field": "steps", "pipelines": sorted(self._pipelines)},
                )
        if not isinstance(steps, list) or not steps:
            raise ValidationError(
                'steps must be a non-empty list of {"tool": NAME, ...options} objects.',
                details={"field": "steps"},
            )
        if len(steps) > MAX_STEPS:
            raise ValidationError(
                f"A pipeline has at most {MAX_STEPS} steps.",
                details={"field": "steps", "max": MAX_STEPS},
            )
        return steps

    def _checked(self, index: int, step: object, refuse: Collection[str]) -> tuple[Slice, Struct]:
        tool = step.get("tool") if isinstance(step, dict) else None
        if not isinstance(step, dict) or not isinstance(tool, str):
            raise ValidationError(
                f'Step {index} must be an object with a "tool" name.', details={"step": index}
            )
        where = {"step": index, "tool": tool[:64]}
        entry = self._registry.get(tool)
        if entry is None or tool in refuse:
            raise ValidationError(f"Step {index}: no tool named {tool[:64]!r}.", details=where)
        if entry.slice is None or entry.error is not None:
            raise ValidationError(f"Step {index}: the tool {tool!r} failed to load.", details=where)
        if not entry.is_mounted:
            raise FeatureDisabledError(
                f"The {tool!r} feature is disabled on this server.",
                details={**where, "slice": tool, "enable": f"[slices.{tool}] enabled = true"},
            )
        spec = entry.slice
        if not spec.capabilities.accepts_image:
            raise ValidationError(
                f"Step {index}: the tool {tool!r} takes no image, so it cannot be a step.",
                details=where,
            )
        options = {key: value for key, value in step.items() if key != "tool"}
        try:
            parsed = msgspec.convert(options, spec.options_type, strict=False)
        except msgspec.ValidationError as exc:
            raise ValidationError(
                f"Step {index} ({tool}): {exc}", details={**where, "error": str(exc)}
            ) from exc
        return spec, parsed

    def _record(  # noqa: PLR0913, PLR0917 - one row's columns
        self,
        step: PlannedStep,
        begin: float,
        status: int,
        code: str | None,
        input_bytes: int,
        output_bytes: int | None,
    ) -> None:
        facts = current_request_facts()
        request_id = structlog.contextvars.get_contextvars().get("request_id")
        self._usage.record(
            UsageRecord(
                tool=step.tool,
                caller=facts.caller if facts is not None else "anonymous",
                outcome=outcome_of(status),
                status_code=status,
                duration_ms=round((time.perf_counter() - begin) * 1000, 2),
                error_code=code,
                input_bytes=input_bytes,
                output_bytes=output_bytes,
                request_id=request_id if isinstance(request_id, str) else None,
                task_id=current_progress().task_id,
            )
        )


def _json_list(text: str) -> Sequence[Any]:
    try:
        value = msgspec.json.decode(text)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise ValidationError(
            "steps is not valid JSON.", details={"field": "steps", "error": "json"}
        ) from exc
    if not isinstance(value, list):
        raise ValidationError("steps must be a JSON list.", details={"field": "steps"})
    return value
