"""Turns finished HTTP requests to image slices into usage records."""

from center_api.core.middleware import RequestOutcome
from center_api.registry.loader import SliceRegistry
from center_api.usage.recorder import UsageRecord, UsageRecorder, outcome_of

API_PREFIX = "/api/v1"


class UsageObserver:
    """Maps a request's route to its slice and records the call.

    Only slices that process images are metered; reading the catalog or usage is not a call.
    """

    def __init__(self, registry: SliceRegistry, recorder: UsageRecorder) -> None:
        self._recorder = recorder
        self._prefixes = sorted(
            (
                (f"{API_PREFIX}{entry.slice.path}", entry.name)
                for entry in registry.entries
                if entry.slice is not None and entry.slice.capabilities.accepts_image
            ),
            key=lambda item: -len(item[0]),
        )

    def tool_of(self, path: str) -> str | None:
        """The slice that owns ``path``, if any."""
        for prefix, name in self._prefixes:
            if path == prefix or path.startswith(prefix + "/"):
                return name
        return None

    def __call__(self, outcome: RequestOutcome) -> None:
        """Record ``outcome`` if it was a call to a metered slice."""
        tool = self.tool_of(outcome.path)
        if tool is None:
            return
        facts = outcome.facts
        self._recorder.record(
            UsageRecord(
                tool=tool,
                caller=facts.caller,
                outcome=outcome_of(outcome.status_code),
                status_code=outcome.status_code,
                duration_ms=round(outcome.duration_s * 1000, 2),
                error_code=facts.error_code,
                megapixels=facts.megapixels,
                input_bytes=facts.input_bytes,
                output_bytes=outcome.response_bytes if outcome.status_code < 400 else None,
                request_id=outcome.request_id,
            )
        )
