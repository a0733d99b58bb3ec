"""A kernel job's phases, told to the running task: queued, decode, infer, compose, encode.

A job runs in a worker thread, where the task's async `report` cannot be awaited. The kernel's
own steps note the phase here from whatever thread they run on (`imaging.decode_image`, a model
call, `imaging.encode_image`, a wait for a slot); the coroutine awaiting the job
(`InferenceScheduler.run`) wakes up and reports the noted phases in order, all of them before it
returns the job's result, so no report outlives its job. Outside a task there is no
`JobPhases` at all: a synchronous request pays nothing. Owns: phase names and their fractions.
"""

import asyncio
from typing import Any, Literal, TypeVar

from center_api.core.progress import TaskProgress, current_progress

T = TypeVar("T")
Phase = Literal["queued", "decode", "infer", "compose", "encode"]
# Where each phase starts, as a fraction of a job that is its task's whole work (a job inside
# a pipeline step or a video frame only names its phase: see `TaskProgress.report_phase`).
PHASE_STARTS: dict[Phase, float] = {
    "queued": 0.0,
    "decode": 0.1,
    "infer": 0.3,
    "compose": 0.75,
    "encode": 0.9,
}


class JobPhases:
    """The phases one job went through, noted from any thread, reported on the event loop."""

    def __init__(self, progress: TaskProgress, loop: asyncio.AbstractEventLoop) -> None:
        """Report to ``progress`` on ``loop`` (the loop awaiting the job)."""
        self._progress = progress
        self._loop = loop
        self._noted: list[Phase] = []
        self._last: Phase | None = None
        self._wake: asyncio.Future[None] | None = None
        self.is_closed = False

    @classmethod
    def for_current_task(cls) -> "JobPhases | None":
        """Phases for the task running here; None outside a task (call it on the loop)."""
        progress = current_progress()
        if progress.task_id is None:
            return None
        return cls(progress, asyncio.get_running_loop())

    def note(self, phase: Phase) -> None:
        """The job is now in ``phase``; callable from any thread, never blocks."""
        if self.is_closed:
            return
        if _running_loop() is self._loop:
            self._add(phase)
            return
        try:
            self._loop.call_soon_threadsafe(self._add, phase)
        except RuntimeError:  # the loop has closed: nobody is listening any more
            self.is_closed = True

    def woken(self) -> "asyncio.Future[None]":
        """A future done once a phase is noted (at once if one waits to be reported)."""
        self._wake = self._loop.create_future()
        if self._noted:
            self._wake.set_result(None)
        return self._wake

    async def tell(self) -> None:
        """Report the phases noted since the last call, in the order they were noted."""
        while self._noted and not self.is_closed:
            phase = self._noted.pop(0)
            self._last = phase
            await self._progress.report_phase(PHASE_STARTS[phase], phase)

    def close(self) -> None:
        """Report nothing more (the job was abandoned: its caller has moved on)."""
        self.is_closed = True
        self._noted.clear()

    def _add(self, phase: Phase) -> None:
        latest = self._noted[-1] if self._noted else self._last
        if self.is_closed or phase == latest:
            return
        self._noted.append(phase)
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # a worker thread
        return None


async def await_job(future: "asyncio.Future[T]", phases: JobPhases | None, timeout_s: float) -> T:
    """``future``'s result once the job ends, its phases reported meanwhile and before returning.

    The job is not cancelled when the caller is (its slot stays held until its thread ends).

    Raises:
        TimeoutError: the job did not end within ``timeout_s``.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not future.done():
        if phases is not None:
            await phases.tell()
        remaining = deadline - loop.time()
        if remaining <= 0:
            raise TimeoutError
        ends: list[asyncio.Future[Any]] = [future]
        if phases is not None:
            ends.append(phases.woken())
        await asyncio.wait(ends, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
    if phases is not None:
        await phases.tell()
    return future.result()
