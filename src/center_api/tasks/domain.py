"""The task state machine (DESIGN.md §7) and the retry policy."""

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
    PAUSED = "PAUSED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset({TaskStatus.COMPLETED, TaskStatus.FAILED, TaskStatus.CANCELLED})

# target -> the states it may be entered from
ALLOWED_FROM: dict[TaskStatus, frozenset[TaskStatus]] = {
    TaskStatus.PROCESSING: frozenset({TaskStatus.PENDING}),
    TaskStatus.COMPLETED: frozenset({TaskStatus.PROCESSING}),
    TaskStatus.FAILED: frozenset({TaskStatus.PENDING, TaskStatus.PROCESSING}),
    TaskStatus.PAUSED: frozenset({TaskStatus.PENDING}),
    TaskStatus.CANCELLED: frozenset({TaskStatus.PENDING, TaskStatus.PAUSED, TaskStatus.PROCESSING}),
    # Back to the queue: resume from PAUSED, retry or crash recovery from PROCESSING.
    TaskStatus.PENDING: frozenset({TaskStatus.PAUSED, TaskStatus.PROCESSING}),
}


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
