"""Facts about the current request that layers below HTTP learn (input size, error code).

The HTTP layer binds a fresh `RequestFacts` per request; image decoding and the error handlers
fill it in; the usage recorder reads it when the response is done. The object is shared by
reference, so facts noted inside a scheduler thread (a copied context) are seen by the request.
"""

from contextvars import ContextVar
from dataclasses import dataclass
from typing import Protocol


class QuotaReservation(Protocol):
    """The caller's quota, as the layers that learn a request's cost see it."""

    async def reserve(self, *, calls: int = 0, megapixels: float = 0.0) -> None:
        """Reserve more; raises `InsufficientQuotaError` when it does not fit."""
        ...


@dataclass
class RequestFacts:
    """What one request consumed and how it ended."""

    caller: str = "anonymous"
    megapixels: float | None = None
    input_bytes: int | None = None
    error_code: str | None = None
    # Set by the security gate for a billable call by a key with a quota.
    quota: QuotaReservation | None = None
    input_reserved: bool = False
    # False when the answer came from the result cache and hits are not charged.
    is_charged: bool = True


_current: ContextVar[RequestFacts | None] = ContextVar("center_api_request_facts", default=None)


def bind_request_facts() -> RequestFacts:
    """Start a fresh record for the current request and return it."""
    facts = RequestFacts()
    _current.set(facts)
    return facts


def current_request_facts() -> RequestFacts | None:
    """The current request's record, or None outside a request."""
    return _current.get()


async def reserve_input() -> None:
    """Reserve the noted input image's megapixels on the caller's quota, once per call.

    Called after the image's header is read (`note_input`), before any pixel is decoded; a
    call without a quota has nothing to reserve.

    Raises:
        InsufficientQuotaError: the image is larger than what is left of the quota.
    """
    facts = _current.get()
    if facts is None or facts.quota is None or not facts.megapixels or facts.input_reserved:
        return
    facts.input_reserved = True
    await facts.quota.reserve(megapixels=facts.megapixels)


def note_input(width: int, height: int, size_bytes: int) -> None:
    """Record the decoded input's size (first image wins: it is the one the call is about)."""
    facts = _current.get()
    if facts is not None and facts.megapixels is None:
        facts.megapixels = round(width * height / 1e6, 4)
        facts.input_bytes = size_bytes


def note_uncharged() -> None:
    """Mark the call as free: its quota reservation is given back even though it succeeds."""
    facts = _current.get()
    if facts is not None:
        facts.is_charged = False


def note_error(code: str) -> None:
    """Record the error code the request is answered with."""
    facts = _current.get()
    if facts is not None:
        facts.error_code = code
