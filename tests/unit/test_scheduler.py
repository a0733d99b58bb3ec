import asyncio
import threading
import time

import pytest

from center_api.core.errors import ServiceOverloadedError
from center_api.core.metrics import Metrics
from center_api.core.settings import InferenceSettings
from center_api.kernel.scheduler import InferenceScheduler


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


def scheduler(slots: int = 2, queue: int = 100, threads: int = 4) -> InferenceScheduler:
    settings = InferenceSettings(
        max_concurrent=slots, queue_max_size=queue, thread_pool_size=threads
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
    assert err.value.headers["Retry-After"] == "2"
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
