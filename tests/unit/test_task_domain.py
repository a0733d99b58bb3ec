import itertools

import pytest

from center_api.core.errors import (
    BusinessRuleViolationError,
    InvalidImageError,
    ModelLoadError,
    ServiceOverloadedError,
    ValidationError,
)
from center_api.tasks.domain import (
    TaskStatus,
    backoff_seconds,
    can_transition,
    check_transition,
    is_transient,
)

S = TaskStatus
LEGAL = {
    (S.PENDING, S.PROCESSING),
    (S.PROCESSING, S.COMPLETED),
    (S.PROCESSING, S.FAILED),
    (S.PENDING, S.FAILED),  # e.g. recovery gives up, or the input is gone
    (S.PENDING, S.PAUSED),
    (S.PENDING, S.CANCELLED),
    (S.PAUSED, S.CANCELLED),
    (S.PROCESSING, S.CANCELLED),
    (S.PAUSED, S.PENDING),  # resume
    (S.PROCESSING, S.PENDING),  # retry, or crash recovery
    (S.PROCESSING, S.PAUSING),  # pause asked for: stops at the next checkpoint
    (S.PAUSING, S.PAUSED),  # the checkpoint came
    (S.PAUSING, S.PROCESSING),  # resumed before it got there
    (S.PAUSING, S.COMPLETED),  # finished before its next checkpoint
    (S.PAUSING, S.FAILED),
    (S.PAUSING, S.CANCELLED),
}


@pytest.mark.parametrize(("current", "target"), sorted(LEGAL))
def test_legal_transitions_pass(current, target):
    assert can_transition(current, target)
    check_transition("t1", current, target)


ILLEGAL = sorted(set(itertools.permutations(S, 2)) - LEGAL)


@pytest.mark.parametrize(("current", "target"), ILLEGAL)
def test_illegal_transitions_raise_business_rule_violation(current, target):
    assert not can_transition(current, target)
    with pytest.raises(BusinessRuleViolationError) as err:
        check_transition("t1", current, target)
    assert err.value.code == "BUSINESS_RULE_VIOLATION"
    assert err.value.details == {"task_id": "t1", "status": current, "requested": target}


def test_terminal_states_are_final():
    for final in (S.COMPLETED, S.FAILED, S.CANCELLED):
        assert not any(can_transition(final, target) for target in S if target != final)


def test_only_transient_failures_are_retried():
    assert is_transient(ServiceOverloadedError("busy", retry_after_s=1, details={}))
    assert is_transient(ModelLoadError("boom"))
    assert is_transient(TimeoutError())
    assert not is_transient(InvalidImageError("bad bytes"))
    assert not is_transient(ValidationError("bad option"))
    assert not is_transient(RuntimeError("bug"))


def test_backoff_doubles():
    assert [backoff_seconds(n, 0.5) for n in (1, 2, 3)] == [0.5, 1.0, 2.0]
