"""The task state machine (DESIGN.md §7) and the retry policy.

    PENDING ──claim──▶ PROCESSING ──done──▶ COMPLETED
       │  ▲               │   ▲  ╲──error──▶ FAILED (or back to PENDING for a retry)
  pause│  │resume    pause│   │resume
       ▼  │               ▼   │
      PAUSED ◀─checkpoint─ PAUSING ──done/error──▶ COMPLETED / FAILED

Any state but a terminal one can be CANCELLED. A run pauses only at a checkpoint (a batch:
between children); a run without one answers a pause with 409 and finishes first.
"""

from enum import StrEnum

from center_api.core.errors import (
    AppException,
    BusinessRuleViolationError,
    DatabaseError,
    ModelLoadError,
    QueueError,
    ServiceOverloadedError,
)


class TaskStatus(StrEnum):
    """Where a task is in its life."""

    PENDING = "PENDING"
    PROCESSING = "PROCESSING"
    # Running, asked to pause: stops at its next checkpoint (a batch: once no child runs).
    PAUSING = "PAUSING"
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})

# target -> the states it may be entered from
ALLOWED_FROM: dict[TaskStatus, frozenset[TaskStatus]] = {
    # Claimed from the queue; or a resume that came before the pause landed.
    TaskStatus.PROCESSING: frozenset({TaskStatus.PENDING, TaskStatus.PAUSING}),
    TaskStatus.PAUSING: frozenset({TaskStatus.PROCESSING}),
    # A run that ends before its next checkpoint ends as it would have.
    TaskStatus.COMPLETED: frozenset({TaskStatus.PROCESSING, TaskStatus.PAUSING}),
    TaskStatus.FAILED: frozenset({TaskStatus.PENDING, TaskStatus.PROCESSING, TaskStatus.PAUSING}),
    TaskStatus.PAUSED: frozenset({TaskStatus.PENDING, TaskStatus.PAUSING}),
    TaskStatus.CANCELLED: frozenset(
        {TaskStatus.PENDING, TaskStatus.PAUSED, TaskStatus.PROCESSING, TaskStatus.PAUSING}
    ),
    # Back to the queue: resume from PAUSED, retry or crash recovery from PROCESSING.
    TaskStatus.PENDING: frozenset({TaskStatus.PAUSED, TaskStatus.PROCESSING}),
}
# Rows a worker is running (heartbeats, crash recovery).
RUNNING = frozenset({TaskStatus.PROCESSING, TaskStatus.PAUSING})


def can_transition(current: TaskStatus, target: TaskStatus) -> bool:
    """True when the state machine allows ``current -> target``."""
    return current in ALLOWED_FROM[target]


def check_transition(task_id: str, current: TaskStatus, target: TaskStatus) -> None:
    """Raise `BusinessRuleViolationError` for an illegal transition."""
    if not can_transition(current, target):
        raise BusinessRuleViolationError(
            f"Task {task_id} is {current}; it cannot become {target}.",
            details={"task_id": task_id, "status": current, "requested": target},
        )


# Failures that another attempt may cure; bad input never is.
_TRANSIENT = (ServiceOverloadedError, ModelLoadError, DatabaseError, QueueError, TimeoutError)


def is_transient(error: BaseException) -> bool:
    """True for failures worth a retry (overload, infrastructure, timeouts)."""
    if isinstance(error, AppException):
        return isinstance(error, _TRANSIENT)
    return isinstance(error, TimeoutError | OSError)


def backoff_seconds(attempt: int, base_s: float) -> float:
    """Exponential backoff before attempt ``attempt + 1`` (1-based attempts)."""
    return float(base_s * (2 ** max(0, attempt - 1)))
