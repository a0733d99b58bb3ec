"""Slots hold model work only: decode runs beside two inferences; a task hears each job's phases."""

import asyncio
import threading
import time

import numpy as np
import pytest

from center_api.core.metrics import Metrics
from center_api.core.progress import TaskProgress, bind_progress, unbind_progress
from center_api.core.settings import ImageSettings, InferenceSettings
from center_api.kernel import imaging
from center_api.kernel.phases import JobPhases
from center_api.kernel.scheduler import InferenceScheduler, enter_phase
from tests.conftest import encode_png

WAIT_S = 5.0


def scheduler(slots: int = 2, **more) -> InferenceScheduler:
    return InferenceScheduler(InferenceSettings(max_concurrent=slots, **more), Metrics())


class ModelRuns:
    """Stand-in model calls that count their overlap and can be held open."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0
        self.release = threading.Event()

    def run(self) -> None:
        enter_phase("infer")  # as a model call does: takes a slot first
        with self.lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        self.release.wait(WAIT_S)
        with self.lock:
            self.active -= 1
        enter_phase("compose")


async def until(predicate, seconds: float = WAIT_S) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "condition never became true"
        await asyncio.sleep(0.01)


async def test_a_decode_runs_while_both_slots_infer(monkeypatch):
    sched, models = scheduler(slots=2), ModelRuns()
    decoding, decoded = threading.Event(), threading.Event()
    real_to_array = imaging._to_array

    def held_to_array(image):
        decoding.set()
        assert models.release.wait(WAIT_S)  # held until both slots are running models
        return real_to_array(image)

    monkeypatch.setattr(imaging, "_to_array", held_to_array)
    photo = encode_png(np.full((64, 96, 3), 200, np.uint8))

    def decode_then_infer() -> tuple[int, int]:
        pixels = imaging.decode_image(photo, ImageSettings()).pixels
        decoded.set()
        models.run()
        return pixels.shape[:2]

    decoder = asyncio.ensure_future(sched.run(decode_then_infer))
    await until(decoding.is_set)
    inferring = [asyncio.ensure_future(sched.run(models.run)) for _ in range(2)]
    await until(lambda: models.active == 2)
    assert sched.active == 2 and decoding.is_set() and not decoded.is_set()
    models.release.set()
    assert await decoder == (64, 96)
    await asyncio.gather(*inferring)
    assert models.peak == 2  # the decoded job waited for a slot before its model call
    assert (sched.active, sched.started, sched.memory_mb) == (0, 0, 0.0)


class Decoder:
    """A job that decodes (off its slot) until told to go on, then calls a model."""

    def __init__(self, models: ModelRuns) -> None:
        self.models = models
        self.decoding, self.go = threading.Event(), threading.Event()

    def run(self) -> str:
        enter_phase("decode")
        self.decoding.set()
        assert self.go.wait(WAIT_S)
        self.models.run()
        return "returning"


async def test_a_job_coming_back_for_a_slot_is_served_before_jobs_not_yet_started():
    sched, models = scheduler(slots=1), ModelRuns()
    decoder = Decoder(models)
    returning = asyncio.ensure_future(sched.run(decoder.run))
    await until(decoder.decoding.is_set)
    holder = asyncio.ensure_future(sched.run(models.run))
    await until(lambda: models.active == 1)
    newcomer = asyncio.ensure_future(sched.run(lambda: "new"))
    await until(lambda: sched.waiting == 1)
    decoder.go.set()
    await until(lambda: sched.waiting == 2)  # came later than the newcomer, served first
    models.release.set()
    done, _ = await asyncio.wait([returning, newcomer], return_when=asyncio.FIRST_COMPLETED)
    assert [task.result() for task in done] == ["returning"]
    await asyncio.gather(holder, newcomer)
    assert models.peak == 1 and (sched.waiting, sched.started) == (0, 0)


async def test_a_cancelled_job_waiting_for_a_slot_gives_back_its_memory_and_thread():
    sched, models = scheduler(slots=1), ModelRuns()
    decoder = Decoder(models)
    waiting = asyncio.ensure_future(sched.run(decoder.run, memory_mb=300))
    await until(decoder.decoding.is_set)
    holder = asyncio.ensure_future(sched.run(models.run))
    await until(lambda: models.active == 1)
    decoder.go.set()
    await until(lambda: sched.waiting == 1)  # its model call waits for the slot
    assert (sched.started, sched.memory_mb) == (2, 300.0)
    waiting.cancel()
    await until(lambda: sched.started == 1)  # its wait ended: the thread is back
    assert sched.memory_mb == 0.0 and sched.waiting == 0 and sched.active == 1
    models.release.set()
    await holder
    assert models.peak == 1 and (sched.active, sched.started) == (0, 0)


async def test_a_tasks_job_reports_its_phases_in_order_before_it_returns():
    sched, seen = scheduler(slots=1), []

    async def on_report(fraction: float, stage: str | None) -> None:
        seen.append((stage, fraction))

    def job() -> str:
        enter_phase("decode")
        enter_phase("infer")
        enter_phase("infer")  # a second model call: the same phase, not repeated
        enter_phase("compose")
        enter_phase("encode")
        return "done"

    gate = threading.Event()
    holder = asyncio.ensure_future(sched.run(gate.wait))  # the next job has to queue
    await asyncio.sleep(0.02)
    token = bind_progress(TaskProgress("t1", on_report=on_report))
    try:
        running = asyncio.ensure_future(sched.run(job))
        await until(lambda: sched.waiting == 1)
        gate.set()
        assert await running == "done"
    finally:
        unbind_progress(token)
    await holder
    stages = [stage for stage, _ in seen]
    assert stages == ["queued", "decode", "infer", "compose", "encode"]
    fractions = [fraction for _, fraction in seen]
    assert fractions == sorted(fractions) and 0 < fractions[2] < fractions[-1] < 1


async def test_outside_a_task_nothing_is_noted():
    assert JobPhases.for_current_task() is None
    sched = scheduler(slots=1)

    def job() -> int:
        enter_phase("decode")
        enter_phase("infer")
        return 3

    assert await sched.run(job) == 3


@pytest.mark.parametrize("timeout_s", [0.1])
async def test_an_abandoned_job_reports_nothing_more(timeout_s):
    sched, seen = scheduler(slots=1, timeout_s=timeout_s), []
    release = threading.Event()

    async def on_report(fraction: float, stage: str | None) -> None:
        seen.append(stage)

    def slow() -> None:
        enter_phase("infer")
        release.wait(WAIT_S)
        enter_phase("encode")  # after the caller was answered 504

    token = bind_progress(TaskProgress("t1", on_report=on_report))
    try:
        with pytest.raises(Exception, match="longer than"):
            await sched.run(slow)
    finally:
        unbind_progress(token)
    release.set()
    await until(lambda: sched.started == 0)
    await asyncio.sleep(0.05)
    assert seen == ["infer"]
