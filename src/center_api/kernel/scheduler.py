"""Inference slots: at most N model runs at once, within a memory budget, waiting in order.

Every CPU-heavy step (decode, ONNX Runtime, compositing, encode) runs here, on a thread pool, so
the event loop never does image maths and the machine is never oversubscribed. A job is admitted
when a slot and a thread are free *and* its memory estimate (from the image's header, before
any pixel is decoded) fits the budget; waiting is first come, first served and bounded in
length and time. A job that runs past the timeout is abandoned: its caller gets 504 at once,
its ONNX Runtime call is told to stop and its wait for a slot ends, so all it held comes back.

A slot is for model work. The kernel's own steps say which phase a job is in (`enter_phase`):
while it decodes or encodes, the job gives its slot to the next job and goes on, still charged
to the memory budget, on one of the pool's extra threads (one per core); its next model call
takes a slot again first, before jobs not yet started. So a decode runs beside two inferences
and a slot never idles while a PNG is read or written. The phases also reach the running
task's progress (`kernel.phases`).
"""

import asyncio
import contextvars
import math
import os
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import onnxruntime as ort

from center_api.core.errors import InferenceTimeoutError, ServiceOverloadedError
from center_api.core.heap import trim_heap
from center_api.core.logging import get_logger
from center_api.core.metrics import Metrics
from center_api.core.request_facts import current_request_facts
from center_api.core.settings import InferenceSettings
from center_api.kernel.phases import JobPhases, Phase, await_job

T = TypeVar("T")
logger = get_logger("center_api.scheduler")

# A job whose estimate is at least this large gives its freed heap back to the system when it
# ends (glibc keeps freed memory otherwise, and RSS would stay at the peak).
TRIM_ABOVE_MB = 64.0
_RETRY_AFTER_MAX_S = 300
_AVERAGE_WEIGHT = 0.2  # of the newest job in the running mean of job durations


@dataclass
class JobControl:
    """The handle a running job's model calls watch: ``abandon()`` stops them."""

    run_options: Any = field(default_factory=ort.RunOptions)
    is_abandoned: bool = False
    has_left_slot: bool = False
    # Set by the scheduler: called from the job's thread to give its slot away / take one again.
    on_leave: Callable[[], object] | None = None
    on_reenter: Callable[[], object] | None = None
    # Where the job's phases go (None outside a task), and its wait for a slot, if it waits.
    phases: JobPhases | None = None
    reentry: "Future[None] | None" = None

    def abandon(self) -> None:
        """Stop the job's ONNX Runtime call now, refuse its next ones, end its wait for a slot."""
        self.is_abandoned = True
        self.run_options.terminate = True
        if self.reentry is not None:
            self.reentry.cancel()
        if self.phases is not None:
            self.phases.close()


_current_job: contextvars.ContextVar[JobControl | None] = contextvars.ContextVar(
    "center_api_job", default=None
)


def current_job() -> JobControl | None:
    """The control of the job running in this thread (None outside the scheduler)."""
    return _current_job.get()


def leave_slot() -> None:
    """Give this job's inference slot to the next job; the job goes on without models."""
    job = _current_job.get()
    if job is not None and not job.has_left_slot and job.on_leave is not None:
        job.has_left_slot = True
        job.on_leave()


def reenter_slot() -> None:
    """Take an inference slot again (blocking) after `leave_slot`, before more model work.

    Raises:
        ServiceOverloadedError: no slot came free within ``max_queue_wait_s``.
        concurrent.futures.CancelledError: the job was abandoned while it waited.
    """
    job = _current_job.get()
    if job is not None and job.has_left_slot and job.on_reenter is not None:
        job.on_reenter()
        job.has_left_slot = False


def enter_phase(phase: Phase) -> None:
    """This job now does ``phase``: the kernel's steps call it, from the job's thread.

    ``decode`` and ``encode`` give the slot to the next job (`leave_slot`); ``infer`` (before
    every model call) takes one again first, waiting its turn; ``compose`` (after a model
    call) keeps it. A running task hears the phase. Outside the scheduler, nothing happens.

    Raises:
        ServiceOverloadedError: ``infer`` waited ``max_queue_wait_s`` without a slot.
    """
    job = _current_job.get()
    if job is None:
        return
    if phase in {"decode", "encode"}:
        leave_slot()
    elif phase == "infer":
        reenter_slot()
    if job.phases is not None:
        job.phases.note(phase)


@dataclass(eq=False)
class _Waiter:
    future: "asyncio.Future[None]"
    memory_mb: float
    is_start: bool  # a job not yet started (needs a thread too), not one coming back


@dataclass(eq=False)
class _Slot:
    """One admitted job's hold: its memory until it ends, its slot until it ends or leaves."""

    cost: float
    is_held: bool = True
    is_done: bool = False


class InferenceScheduler:
    """Admission control, slot and memory accounting for CPU jobs."""

    def __init__(self, settings: InferenceSettings, metrics: Metrics) -> None:
        """Create the slots and the thread pool from ``settings``."""
        self.max_concurrent = settings.max_concurrent
        self.queue_max_size = settings.queue_max_size
        self.settings = settings
        self._metrics = metrics
        # The slots' threads, plus one per core for jobs that left their slot to decode or
        # encode. No more jobs start than there are threads: a started job always has one.
        self.threads = max(settings.thread_pool_size, settings.max_concurrent) + _cpus()
        self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="inference")
        # Jobs not yet started, and started ones waiting to take a slot again (served first).
        self._waiters: deque[_Waiter] = deque()
        self._returning: deque[_Waiter] = deque()
        self.active = 0  # jobs holding a slot
        self.started = 0  # jobs running on a thread, holding a slot or not
        self.memory_mb = 0.0
        # Seconds per job, a running mean; the configured retry_after_s until jobs have run.
        self.mean_job_s = float(settings.retry_after_s)

    @property
    def waiting(self) -> int:
        """Jobs waiting for a slot (to start, or to run a model again)."""
        return len(self._waiters) + len(self._returning)

    def retry_after_s(self) -> int:
        """When a refused caller should come back: the queue ahead of it at recent job speed."""
        seconds = (self.waiting + 1) * self.mean_job_s / self.max_concurrent
        return max(1, min(_RETRY_AFTER_MAX_S, math.ceil(seconds)))

    async def run(
        self, fn: Callable[[], T], *, label: str = "job", memory_mb: float | None = None
    ) -> T:
        """Run ``fn`` on the thread pool, admitted with a slot, and return its result.

        ``memory_mb`` is the job's estimated peak; by default it follows from the megapixels
        of the request's input image (noted from its header). In a task, the job's phases
        are reported as it goes, all of them before this returns.

        Raises:
            ServiceOverloadedError: at once when the wait queue is full, or after
                ``max_queue_wait_s`` without a slot (503, ``Retry-After`` computed).
            InferenceTimeoutError: the job ran longer than ``timeout_s`` (504); it is stopped.
        """
        if self.active + self.waiting >= self.max_concurrent + self.queue_max_size:
            raise self._overloaded("The server is at capacity; retry shortly.", label)
        cost = self._estimate(memory_mb)
        phases = JobPhases.for_current_task()
        await self._admit(cost, label, is_start=True, phases=phases)
        loop = asyncio.get_running_loop()
        slot = _Slot(cost)
        control = JobControl(
            on_leave=partial(loop.call_soon_threadsafe, self._leave, slot),
            on_reenter=partial(self._reenter_from_thread, loop, slot, label),
            phases=phases,
        )
        context = contextvars.copy_context()
        context.run(_current_job.set, control)
        started = time.monotonic()
        future = loop.run_in_executor(self._executor, context.run, partial(_call, fn, cost))
        # The slot is given back when the thread finishes, not when the awaiting request goes
        # away: a cancelled client must not let a third job start beside a still-running one.
        future.add_done_callback(partial(self._release, slot, started))
        try:
            return await await_job(future, phases, self.settings.timeout_s)
        except TimeoutError:
            control.abandon()
            logger.warning("inference.timeout", job=label, timeout_s=self.settings.timeout_s)
            raise InferenceTimeoutError(
                f"The work took longer than {self.settings.timeout_s:g} s and was stopped.",
                details={"timeout_s": self.settings.timeout_s, "job": label},
            ) from None
        except asyncio.CancelledError:
            control.abandon()  # nobody waits for the answer: stop at the next model call
            raise

    def _estimate(self, memory_mb: float | None) -> float:
        if memory_mb is not None:
            return memory_mb
        facts = current_request_facts()
        megapixels = facts.megapixels if facts is not None and facts.megapixels else 0.0
        return megapixels * self.settings.memory_mb_per_megapixel

    def _fits(self, cost: float, *, is_start: bool) -> bool:
        if self.active >= self.max_concurrent:
            return False
        if not is_start:  # a started job coming back needs a slot only
            return True
        if self.started >= self.threads:
            return False
        # A job larger than the whole budget still runs, alone.
        return self.started == 0 or self.memory_mb + cost <= self.settings.memory_budget_mb

    def _take(self, cost: float, *, is_start: bool) -> None:
        self.active += 1
        if is_start:
            self.started += 1
            self.memory_mb += cost
        self._publish()

    async def _admit(
        self, cost: float, label: str, *, is_start: bool, phases: JobPhases | None
    ) -> None:
        """Take a slot (and, to start, a thread and ``cost`` of the budget), waiting in turn.

        Jobs coming back for a slot are served before jobs not yet started; each kind waits
        first come, first served, at most ``max_queue_wait_s``.
        """
        queue = self._waiters if is_start else self._returning
        is_clear = not self._returning and not (is_start and self._waiters)
        if is_clear and self._fits(cost, is_start=is_start):
            self._take(cost, is_start=is_start)
            return
        waiter = _Waiter(asyncio.get_running_loop().create_future(), cost, is_start)
        queue.append(waiter)
        self._publish()
        try:
            if phases is not None:
                phases.note("queued")
                if is_start:  # no job runs yet to report it: report it here
                    await phases.tell()
            await asyncio.wait_for(asyncio.shield(waiter.future), self.settings.max_queue_wait_s)
        except BaseException as exc:
            if waiter.future.done() and not waiter.future.cancelled():
                # Granted in the same instant it gave up.
                self._give_back(cost, holds_slot=True, ends_job=is_start)
            else:
                waiter.future.cancel()
            if isinstance(exc, TimeoutError):
                raise self._overloaded(
                    f"No inference slot came free within {self.settings.max_queue_wait_s:g} s; "
                    "retry shortly.",
                    label,
                ) from None
            raise
        finally:
            if waiter in queue:
                queue.remove(waiter)
            self._publish()

    def _release(self, slot: _Slot, started: float, future: "asyncio.Future[Any]") -> None:
        if not future.cancelled():
            future.exception()  # retrieved here: an abandoned job's error has no other reader
        seconds = time.monotonic() - started
        self.mean_job_s += _AVERAGE_WEIGHT * (seconds - self.mean_job_s)
        slot.is_done = True
        self._give_back(slot.cost, holds_slot=slot.is_held, ends_job=True)

    def _give_back(self, cost: float, *, holds_slot: bool, ends_job: bool) -> None:
        if holds_slot:
            self.active -= 1
        if ends_job:
            self.started -= 1
            self.memory_mb = max(0.0, self.memory_mb - cost)
        self._grant()
        self._publish()

    def _leave(self, slot: _Slot) -> None:
        """The job decodes or encodes: its slot goes to the next one, its memory stays."""
        if slot.is_done or not slot.is_held:
            return
        slot.is_held = False
        self.active -= 1
        self._grant()
        self._publish()

    async def _reenter(self, slot: _Slot, label: str, phases: JobPhases | None) -> None:
        await self._admit(0.0, label, is_start=False, phases=phases)
        slot.is_held = True

    def _reenter_from_thread(
        self, loop: asyncio.AbstractEventLoop, slot: _Slot, label: str
    ) -> None:
        job = current_job()
        phases = job.phases if job is not None else None
        waiting = asyncio.run_coroutine_threadsafe(self._reenter(slot, label, phases), loop)
        if job is not None:
            job.reentry = waiting
            if job.is_abandoned:  # abandoned before the wait was there to be ended
                waiting.cancel()
        try:
            waiting.result()
        finally:
            if job is not None:
                job.reentry = None

    def _grant(self) -> None:
        """Admit waiters in arrival order while the head one fits, jobs coming back first."""
        for queue in (self._returning, self._waiters):
            while queue:
                head = queue[0]
                if head.future.done():  # gave up meanwhile
                    queue.popleft()
                    continue
                if not self._fits(head.memory_mb, is_start=head.is_start):
                    break
                queue.popleft()
                self._take(head.memory_mb, is_start=head.is_start)
                head.future.set_result(None)

    def _overloaded(self, message: str, label: str) -> ServiceOverloadedError:
        return ServiceOverloadedError(
            message,
            retry_after_s=self.retry_after_s(),
            details={
                "running": self.active,
                "waiting": self.waiting,
                "queue_max_size": self.queue_max_size,
                "job": label,
            },
        )

    def _publish(self) -> None:
        self._metrics.inference_waiting.set(self.waiting)
        self._metrics.inference_running.set(self.active)

    def close(self) -> None:
        """Stop accepting work and let running jobs finish."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def _call(fn: Callable[[], T], cost: float) -> T:
    """Run ``fn``; after a large job hand the freed heap back to the system."""
    try:
        return fn()
    finally:
        if cost >= TRIM_ABOVE_MB:
            trim_heap()
