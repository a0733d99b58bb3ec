"""Quotas: what a key has reserved, settled when the work ends; the 402 when it does not fit.

The reservation itself is one conditional UPDATE in `ApiKeyStore.reserve`; here are the pieces
around it: `QuotaHold` (one request's reservation, kept on success, given back on failure),
`release_statement` (the give-back, runnable inside a task's own transaction) and `quota_error`.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Update, case, update

from center_api.auth.keys import key_uuid
from center_api.core.errors import InsufficientQuotaError
from center_api.db.models.api_key import ApiKey


class QuotaLedger(Protocol):
    """Where reservations are taken and given back (the key table)."""

    async def reserve(self, key_id: str, *, calls: int, megapixels: float) -> None:
        """Take ``calls`` and ``megapixels``; raises `InsufficientQuotaError` if they do not fit."""
        ...

    async def release(self, key_id: str, *, calls: int, megapixels: float) -> None:
        """Give back a reservation whose work failed or was cancelled."""
        ...


def release_statement(key_id: str, *, calls: int, megapixels: float) -> Update:
    """The UPDATE that gives ``calls`` and ``megapixels`` back to key ``key_id``.

    Returned rather than run, so a task can give its reservation back in the same transaction
    that marks it failed or cancelled.
    """
    return (
        update(ApiKey)
        .where(ApiKey.id == key_uuid(key_id))
        .values(
            used_calls=case((ApiKey.used_calls > calls, ApiKey.used_calls - calls), else_=0),
            used_megapixels=case(
                (ApiKey.used_megapixels > megapixels, ApiKey.used_megapixels - megapixels),
                else_=0.0,
            ),
        )
    )


@dataclass
class QuotaHold:
    """What one request has reserved on its key's quota so far; settled when it ends."""

    keys: QuotaLedger
    key_id: str
    calls: int = 0
    megapixels: float = 0.0

    async def reserve(self, *, calls: int = 0, megapixels: float = 0.0) -> None:
        """Reserve more (raises `InsufficientQuotaError` if it does not fit)."""
        await self.keys.reserve(self.key_id, calls=calls, megapixels=megapixels)
        self.calls += calls
        self.megapixels += megapixels

    async def settle(self, *, succeeded: bool) -> None:
        """Keep the reservation for a successful call; give it back otherwise."""
        if not succeeded and (self.calls or self.megapixels):
            await self.keys.release(self.key_id, calls=self.calls, megapixels=self.megapixels)
        self.calls, self.megapixels = 0, 0.0


def quota_error(key: ApiKey | None, *, calls: int, megapixels: float) -> InsufficientQuotaError:
    """The 402 for a reservation that does not fit: what is left, what was asked."""
    details: dict[str, Any] = {
        "requested_calls": calls,
        "requested_megapixels": round(megapixels, 4),
    }
    if key is not None:
        if key.quota_calls is not None:
            details["quota_calls"], details["used_calls"] = key.quota_calls, key.used_calls
            details["remaining_calls"] = max(key.quota_calls - key.used_calls, 0)
        if key.quota_megapixels is not None:
            details["quota_megapixels"] = key.quota_megapixels
            details["used_megapixels"] = round(key.used_megapixels, 4)
            left = max(key.quota_megapixels - key.used_megapixels, 0.0)
            details["remaining_megapixels"] = round(left, 4)
    return InsufficientQuotaError("This key's quota does not cover this request.", details=details)
