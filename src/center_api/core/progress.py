"""Progress and safe points of the running task, as the work itself sees them.

Code that runs inside a task (a slice's ``run``, a pipeline step, a video frame loop) asks for
`current_progress()` and calls:

- ``await progress.report(fraction, stage)`` — how far it is (0..1) and what it does now; the
  task's subscribers (SSE, WebSocket) hear it, the row's ``progress`` follows (throttled). Work
  that reports its own progress reports once before its first kernel job (a pipeline names
  step 1, a video frame 0): from then on the kernel's job phases only name its stage;
- ``await progress.report_phase(fraction, phase)`` — the inference kernel's part: each job's
  phases (queued, decode, infer, compose, encode). Before the work has reported anything itself,
  its job is the whole work and the phase's fraction is the task's; after, the fraction stays
  the work's own and the phase is added to its stage (``step 2/3: cutout - infer``). Either way
  the fraction never goes back;
- ``await progress.checkpoint(position, state)`` — a safe point: the work up to ``position`` is
  done and ``state`` (JSON-able) is what resuming needs. If the owner asked for a pause, the
  position and state are stored and `TaskPaused` is raised (let it propagate: the runner turns it
  into ``PAUSED``); a cancel stops the work here too. The first checkpoint of a run also marks
  the task as pausable, so a pause asked for before it answers 409 ("it will finish first").
- ``progress.resume_position`` / ``progress.resume_state`` — where a resumed run starts: 0 and
  None on a fresh run, else what the last checkpoint stored. Skip the finished part.

Outside a task (a synchronous request, a CLI call) `current_progress()` gives a no-op one:
reports go nowhere, checkpoints never pause, ``resume_position`` is 0, so the same code serves
both. It sits in `core` (the bottom) so the SDK can re-export it; the task runner supplies
the sinks. Owns: this contract only.
"""

import asyncio
import math
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar, Token
from typing import Any

ReportSink = Callable[[float, str | None], Awaitable[None]]
CheckpointSink = Callable[[int, dict[str, Any] | None], Awaitable[None]]
# A report is passed on at most this often (the last one before a checkpoint always is).
REPORT_EVERY_S = 0.25


class TaskPaused(Exception):  # noqa: N818 - a signal, not an error: the name says what happened
    """Raised by `TaskProgress.checkpoint` when a pause was asked for; the runner catches it."""

    def __init__(self, position: int, state: dict[str, Any] | None = None) -> None:
        super().__init__(f"Paused at position {position}.")
        self.position = position
        self.state = state


async def _ignore_report(fraction: float, stage: str | None) -> None:
    return None


async def _ignore_checkpoint(position: int, state: dict[str, Any] | None) -> None:
    return None


class TaskProgress:
    """The running task's progress reporter and pause point (a no-op one outside tasks)."""

    def __init__(
        self,
        task_id: str | None = None,
        *,
        resume_position: int = 0,
        resume_state: dict[str, Any] | None = None,
        on_report: ReportSink = _ignore_report,
        on_checkpoint: CheckpointSink = _ignore_checkpoint,
    ) -> None:
        """A reporter for ``task_id`` (None: nothing is watching), resuming where given."""
        self.task_id = task_id
        self._resume_position = max(0, int(resume_position))
        self._resume_state = resume_state
        self._on_report, self._on_checkpoint = on_report, on_checkpoint
        self._pause_requested = False
        self._last_report = -math.inf
        # The highest fraction passed on (none lower follows), the last (fraction, stage) passed
        # on, and the work's own last report (None until it made one: see `report_phase`).
        self._high = 0.0
        self._last_passed: tuple[float, str | None] | None = None
        self._own: tuple[float, str | None, float] | None = None  # fraction, stage, span
        self.position = self._resume_position
        self.checkpoints = 0

    @property
    def resume_position(self) -> int:
        """Where this run starts: 0 on a fresh run, the paused run's last position on resume."""
        return self._resume_position

    @property
    def resume_state(self) -> dict[str, Any] | None:
        """What the last checkpoint before the pause stored (None on a fresh run)."""
        return self._resume_state

    @property
    def pause_requested(self) -> bool:
        """True once the owner asked for a pause (the next checkpoint raises `TaskPaused`)."""
        return self._pause_requested

    def request_pause(self, requested: bool = True) -> None:
        """Ask the work to stop at its next checkpoint (False: never mind, a resume came first)."""
        self._pause_requested = requested

    async def report(self, fraction: float, stage: str | None = None, span: float = 0.0) -> None:
        """0..1 of this task's work done; ``stage`` e.g. 'step 2/3', 'frame 120/300'.

        ``span``: the share of the whole that the part starting now covers (a pipeline step of
        three: 1/3); the kernel's job phases within it then move the fraction across it.
        Out-of-range or NaN fractions are clamped, and one below an earlier report is raised to
        it; reports closer together than ``REPORT_EVERY_S`` are dropped, except the final one
        (fraction 1).
        """
        value = _clamped(fraction)
        self._own = (value, stage, min(_clamped(span), 1.0 - value))
        await self._pass(value, stage, is_milestone=value >= 1.0)

    async def report_phase(self, fraction: float, phase: str) -> None:
        """A kernel job's ``phase`` ('decode', 'infer'...), which starts at ``fraction`` of it.

        While the work has reported nothing itself, the job is the whole work: ``fraction`` is
        the task's and every change of phase is passed on (a job has a handful). After, the
        job is a part of what the work last reported: the phase is added to its stage and moves
        the fraction across the report's ``span`` (none: it stays), throttled like any report.
        """
        if self._own is None:
            await self._pass(_clamped(fraction), phase, is_milestone=True)
            return
        value, stage, span = self._own
        value += span * _clamped(fraction)
        await self._pass(value, f"{stage} - {phase}" if stage else phase, is_milestone=False)

    async def _pass(self, value: float, stage: str | None, *, is_milestone: bool) -> None:
        """Pass a report on unless throttled (a milestone never is) or already passed."""
        value = max(value, self._high)  # the fraction never goes back
        now = time.monotonic()
        if not is_milestone and now - self._last_report < REPORT_EVERY_S:
            return
        if (value, stage) == self._last_passed:
            return
        self._last_report, self._high, self._last_passed = now, value, (value, stage)
        await self._on_report(value, stage)

    async def checkpoint(self, position: int, state: dict[str, Any] | None = None) -> None:
        """A safe point: the work up to ``position`` is done; ``state`` is what resuming needs.

        Raises:
            TaskPaused: a pause was asked for (position and state are stored first).
            asyncio.CancelledError: the task was cancelled meanwhile.
        """
        self.position = int(position)
        self.checkpoints += 1
        await self._on_checkpoint(self.position, state)
        await asyncio.sleep(0)  # a cancel waiting for this task lands here
        if self._pause_requested:
            raise TaskPaused(self.position, state)


def _clamped(fraction: float) -> float:
    return 0.0 if math.isnan(fraction) else min(1.0, max(0.0, float(fraction)))


_NO_TASK = TaskProgress()
_current: ContextVar[TaskProgress] = ContextVar("center_api_task_progress", default=_NO_TASK)


def current_progress() -> TaskProgress:
    """The running task's `TaskProgress`; a no-op one in a synchronous request."""
    return _current.get()


def bind_progress(progress: TaskProgress) -> Token[TaskProgress]:
    """Make ``progress`` the current one (the runner does this around a task's work)."""
    return _current.set(progress)


def unbind_progress(token: Token[TaskProgress]) -> None:
    """Undo `bind_progress`."""
    _current.reset(token)
