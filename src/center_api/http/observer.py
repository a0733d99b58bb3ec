"""Turns finished HTTP requests to image slices into usage records."""

from center_api.http.middleware import RequestOutcome
from center_api.usage.recorder import UsageRecord, UsageRecorder, outcome_of


class UsageObserver:
    """Records every call answered by an image slice's route.

    The route that answered says which slice it belongs to (its ``tool`` opt), whatever the
    path looked like; reading the catalog or usage is not a call.
    """

    def __init__(self, recorder: UsageRecorder) -> None:
        self._recorder = recorder

    def __call__(self, outcome: RequestOutcome) -> None:
        """Record ``outcome`` if an image slice's route answered it."""
        if outcome.tool is None:
            return
        facts = outcome.facts
        self._recorder.record(
            UsageRecord(
                tool=outcome.tool,
                caller=facts.caller,
                outcome=outcome_of(outcome.status_code),
                status_code=outcome.status_code,
                duration_ms=round(outcome.duration_s * 1000, 2),
                error_code=facts.error_code,
                megapixels=facts.megapixels,
                input_bytes=facts.input_bytes,
                output_bytes=outcome.response_bytes if outcome.status_code < 400 else None,
                request_id=outcome.request_id,
                model=outcome.model,
            )
        )
