"""A task's progress reporter: fractions never go back; kernel phases fill or refine the stage."""

import pytest

from center_api.core import progress as progress_module
from center_api.core.progress import TaskProgress


def recorder() -> tuple[TaskProgress, list[tuple[float, str | None]]]:
    seen: list[tuple[float, str | None]] = []

    async def on_report(fraction: float, stage: str | None) -> None:
        seen.append((fraction, stage))

    return TaskProgress("t1", on_report=on_report), seen


async def test_a_single_jobs_phases_are_the_tasks_progress_and_none_is_throttled():
    progress, seen = recorder()
    for fraction, phase in [(0.1, "decode"), (0.3, "infer"), (0.75, "compose"), (0.9, "encode")]:
        await progress.report_phase(fraction, phase)  # all within REPORT_EVERY_S
    assert seen == [(0.1, "decode"), (0.3, "infer"), (0.75, "compose"), (0.9, "encode")]


async def test_a_second_job_never_takes_the_fraction_back():
    progress, seen = recorder()
    await progress.report_phase(0.75, "compose")
    await progress.report_phase(0.1, "decode")  # the task's next job starts
    await progress.report_phase(0.1, "decode")  # the same again: not repeated
    assert seen == [(0.75, "compose"), (0.75, "decode")]


async def test_after_the_work_reports_itself_phases_only_name_its_stage(monkeypatch):
    monkeypatch.setattr(progress_module, "REPORT_EVERY_S", 0.0)
    progress, seen = recorder()
    await progress.report(1 / 3, "step 2/3: cutout")
    await progress.report_phase(0.1, "decode")
    await progress.report_phase(0.9, "encode")
    await progress.report(2 / 3, "step 3/3: cutout")
    assert seen == [
        (1 / 3, "step 2/3: cutout"),
        (1 / 3, "step 2/3: cutout - decode"),
        (1 / 3, "step 2/3: cutout - encode"),
        (2 / 3, "step 3/3: cutout"),
    ]


async def test_a_part_with_a_span_moves_across_it_with_its_jobs_phases(monkeypatch):
    monkeypatch.setattr(progress_module, "REPORT_EVERY_S", 0.0)
    progress, seen = recorder()
    await progress.report(1 / 3, "step 2/3: cutout", span=1 / 3)
    await progress.report_phase(0.25, "infer")
    await progress.report_phase(0.9, "encode")
    await progress.report(2 / 3, "step 3/3: cutout", span=1 / 3)
    await progress.report_phase(0.1, "decode")
    values = [value for value, _ in seen]
    assert values == pytest.approx(
        [1 / 3, 1 / 3 + 0.25 / 3, 1 / 3 + 0.9 / 3, 2 / 3, 2 / 3 + 0.1 / 3]
    )
    assert values == sorted(values)  # never back
    await progress.report(0.9, "last", span=5.0)  # a span past the end stops at 1
    await progress.report_phase(1.0, "encode")
    assert seen[-1][0] == pytest.approx(1.0)


async def test_the_works_own_reports_are_throttled_but_the_last_one_passes():
    progress, seen = recorder()
    await progress.report(0.1, "frame 1/3")
    await progress.report(0.5, "frame 2/3")  # within REPORT_EVERY_S: dropped
    await progress.report_phase(0.3, "infer")  # a refinement: throttled too
    await progress.report(1.0, "done")
    assert seen == [(0.1, "frame 1/3"), (1.0, "done")]


@pytest.mark.parametrize("fraction", [-1.0, float("nan")])
async def test_out_of_range_fractions_are_clamped(fraction):
    progress, seen = recorder()
    await progress.report(fraction, "start")
    assert seen == [(0.0, "start")]
