import asyncio
import math
import threading
import time

import pytest

from center_api.core.errors import InferenceTimeoutError, ServiceOverloadedError
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.scheduler import InferenceScheduler, current_job


class Overlap:
    """Counts how many jobs run at the same moment."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = 0
        self.peak = 0

    def job(self, seconds: float = 0.02):
        def run() -> int:
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            time.sleep(seconds)
            with self.lock:
                self.active -= 1
            return 1

        return run


def scheduler(slots: int = 2, queue: int = 100, threads: int = 4, **more) -> InferenceScheduler:
    settings = InferenceSettings(
        max_concurrent=slots, queue_max_size=queue, thread_pool_size=threads, **more
    )
    return InferenceScheduler(settings, Metrics())


async def test_never_more_jobs_than_slots_run_at_once():
    sched, overlap = scheduler(slots=2, threads=8), Overlap()
    results = await asyncio.gather(*(sched.run(overlap.job()) for _ in range(12)))
    assert sum(results) == 12
    assert overlap.peak == 2


async def test_a_full_queue_is_refused_at_once_with_retry_after():
    sched = scheduler(slots=1, queue=2)
    gate = threading.Event()
    blocked = [asyncio.ensure_future(sched.run(gate.wait)) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert (sched.active, sched.waiting) == (1, 2)
    with pytest.raises(ServiceOverloadedError) as err:
        await sched.run(lambda: None)
    assert err.value.status_code == 503
    # Nothing has run yet: two waiting + this one, at the assumed 2 s a job, on one slot.
    assert err.value.headers["Retry-After"] == "6"
    gate.set()
    await asyncio.gather(*blocked)
    assert await sched.run(lambda: 5) == 5


async def test_a_cancelled_caller_keeps_its_slot_until_the_thread_finishes():
    sched, overlap = scheduler(slots=1), Overlap()
    first = asyncio.ensure_future(sched.run(overlap.job(0.2)))
    await asyncio.sleep(0.05)
    first.cancel()
    await asyncio.gather(*(sched.run(overlap.job(0.01)) for _ in range(3)))
    assert overlap.peak == 1


async def test_a_waiting_caller_that_is_cancelled_leaves_the_queue():
    sched = scheduler(slots=1, queue=1)
    gate = threading.Event()
    running = asyncio.ensure_future(sched.run(gate.wait))
    await asyncio.sleep(0.02)
    waiting = asyncio.ensure_future(sched.run(lambda: None))
    await asyncio.sleep(0.02)
    assert sched.waiting == 1
    waiting.cancel()
    await asyncio.sleep(0.02)
    assert sched.waiting == 0
    gate.set()
    await running
    assert sched.active == 0


async def test_retry_after_follows_the_queue_and_the_recent_job_time():
    sched = scheduler(slots=1, queue=10, retry_after_s=1)
    for _ in range(5):
        await sched.run(lambda: time.sleep(0.3))
    assert 0.25 < sched.mean_job_s < 1.0  # learnt from the jobs, away from the assumed 1 s
    gate = threading.Event()
    jobs = [asyncio.ensure_future(sched.run(gate.wait)) for _ in range(1 + 8)]
    await asyncio.sleep(0.05)
    with_eight_waiting, mean = sched.retry_after_s(), sched.mean_job_s
    assert with_eight_waiting == math.ceil(9 * mean)
    gate.set()
    await asyncio.gather(*jobs)
    assert sched.retry_after_s() < with_eight_waiting


async def test_a_caller_waits_at_most_max_queue_wait_then_gets_503():
    sched = scheduler(slots=1, max_queue_wait_s=0.2)
    gate = threading.Event()
    running = asyncio.ensure_future(sched.run(gate.wait))
    await asyncio.sleep(0.02)
    start = time.monotonic()
    with pytest.raises(ServiceOverloadedError) as err:
        await sched.run(lambda: None)
    assert 0.15 < time.monotonic() - start < 1.0
    assert int(err.value.headers["Retry-After"]) >= 1
    assert sched.waiting == 0
    gate.set()
    await running
    assert await sched.run(lambda: 7) == 7


async def test_a_job_past_the_timeout_answers_504_and_its_model_call_is_stopped():
    sched = scheduler(slots=1, timeout_s=0.2)
    seen: list[bool] = []

    def long_job() -> None:
        control = current_job()
        assert control is not None
        deadline = time.monotonic() + 5
        while not control.is_abandoned and time.monotonic() < deadline:
            time.sleep(0.01)  # a model call would be stopped by run_options.terminate
        seen.append(control.run_options.terminate)

    start = time.monotonic()
    with pytest.raises(InferenceTimeoutError) as err:
        await sched.run(long_job)
    assert err.value.status_code == 504 and err.value.code == "TIMEOUT"
    assert time.monotonic() - start < 1.0
    assert await sched.run(lambda: 3) == 3  # the slot came back
    assert seen == [True]


async def test_the_memory_budget_keeps_two_large_jobs_apart_and_lets_small_ones_share():
    sched = scheduler(slots=2, memory_budget_mb=1000)
    overlap = Overlap()
    await asyncio.gather(*(sched.run(overlap.job(0.1), memory_mb=700) for _ in range(3)))
    assert overlap.peak == 1
    overlap = Overlap()
    await asyncio.gather(*(sched.run(overlap.job(0.1), memory_mb=400) for _ in range(4)))
    assert overlap.peak == 2
    overlap = Overlap()
    await asyncio.gather(sched.run(overlap.job(0.1), memory_mb=5000))  # alone, but it runs
    assert sched.memory_mb == 0 and sched.active == 0


async def test_waiters_are_served_in_arrival_order_even_when_a_later_one_would_fit():
    sched = scheduler(slots=2, memory_budget_mb=1000)
    order: list[str] = []
    gate = threading.Event()
    first = asyncio.ensure_future(sched.run(gate.wait, memory_mb=600))
    await asyncio.sleep(0.02)
    big = asyncio.ensure_future(sched.run(lambda: order.append("big"), memory_mb=600))
    await asyncio.sleep(0.02)
    small = asyncio.ensure_future(sched.run(lambda: order.append("small"), memory_mb=100))
    await asyncio.sleep(0.05)
    assert order == [] and sched.waiting == 2  # small would fit, but big came first
    gate.set()
    await asyncio.gather(first, big, small)
    assert order[0] == "big"
