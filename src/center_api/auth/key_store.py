"""The API-key table: create, list, revoke, authenticate; quotas reserved before work.

The pieces around a reservation (holding, giving back, the 402) are in `quotas`.
"""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from center_api.auth.keys import ROLES, key_uuid, mint_key, secret_matches, split_key
from center_api.auth.quotas import quota_error, release_statement
from center_api.core.errors import ValidationError, database_unavailable
from center_api.core.logging import get_logger
from center_api.db.models.api_key import ApiKey

logger = get_logger("center_api.keys")
# Megapixel sums are floats: let rounding noise not refuse a call that exactly fits.
_MP_EPSILON = 1e-6


@dataclass(frozen=True)
class KeySpec:
    """What ``keys create`` asks for."""

    name: str
    role: str = "user"
    quota_calls: int | None = None
    quota_megapixels: float | None = None
    rate_per_minute: int | None = None


class ApiKeyStore:
    """Key rows through short sessions of the process's database config."""

    def __init__(self, db: SQLAlchemyAsyncConfig) -> None:
        """Use ``db`` for every operation."""
        self._db = db

    @asynccontextmanager
    async def _session(self) -> AsyncIterator[AsyncSession]:
        """A session whose failures to reach the database become 503 DATABASE_ERROR."""
        try:
            async with self._db.get_session() as session:
                yield session
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            logger.error("keys.database_error", error=type(exc).__name__, detail=str(exc)[:300])
            raise database_unavailable() from exc

    async def create(self, spec: KeySpec) -> tuple[ApiKey, str]:
        """Store a new key and return the row and the full token (its only appearance).

        Raises:
            ValidationError: unknown role or a non-positive limit.
        """
        if spec.role not in ROLES:
            raise ValidationError(f"role must be one of {', '.join(ROLES)}.")
        limits = (spec.quota_calls, spec.quota_megapixels, spec.rate_per_minute)
        if any(v is not None and v <= 0 for v in limits):
            raise ValidationError("quotas and rates must be positive.")
        new = mint_key()
        row = ApiKey(
            name=spec.name,
            prefix=new.prefix,
            secret_hash=new.secret_hash,
            role=spec.role,
            quota_calls=spec.quota_calls,
            quota_megapixels=spec.quota_megapixels,
            rate_per_minute=spec.rate_per_minute,
            used_calls=0,
            used_megapixels=0.0,
        )
        async with self._session() as session:
            session.add(row)
            await session.commit()
        return row, new.token

    async def list(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones included)."""
        async with self._session() as session:
            rows = await session.scalars(select(ApiKey).order_by(ApiKey.created_at))
            return list(rows)

    async def revoke(self, ident: str) -> bool:
        """Revoke the key whose id or prefix is ``ident``; False if there is none."""
        condition = ApiKey.prefix == ident if len(ident) == 12 else ApiKey.id == key_uuid(ident)
        async with self._session() as session:
            result = await session.execute(
                update(ApiKey)
                .where(condition, ApiKey.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            await session.commit()
            return bool(getattr(result, "rowcount", 0))

    async def authenticate(self, token: str) -> ApiKey | None:
        """The live key ``token`` names, or None (malformed, unknown, wrong secret, revoked)."""
        parts = split_key(token)
        if parts is None:
            return None
        prefix, secret = parts
        async with self._session() as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if row is None or not secret_matches(secret, row.secret_hash):
            return None
        return None if row.revoked_at is not None else row

    async def reserve(self, key_id: str, *, calls: int, megapixels: float) -> None:
        """Take ``calls`` and ``megapixels`` from the key's quota before the work starts.

        One conditional UPDATE: it adds the amounts only if they fit under the quota, so
        concurrent calls (on any number of processes sharing the database) never overrun it.

        Raises:
            InsufficientQuotaError: 402, with what is left and what was asked for.
        """
        fits = update(ApiKey).where(
            ApiKey.id == key_uuid(key_id),
            or_(ApiKey.quota_calls.is_(None), ApiKey.used_calls + calls <= ApiKey.quota_calls),
            or_(
                ApiKey.quota_megapixels.is_(None),
                ApiKey.used_megapixels + megapixels <= ApiKey.quota_megapixels + _MP_EPSILON,
            ),
        )
        statement = fits.values(
            used_calls=ApiKey.used_calls + calls,
            used_megapixels=ApiKey.used_megapixels + megapixels,
            last_used_at=datetime.now(UTC),
        )
        async with self._session() as session:
            result = await session.execute(statement)
            await session.commit()
            if getattr(result, "rowcount", 0) == 1:
                return
            row = await session.get(ApiKey, key_uuid(key_id))
        raise quota_error(row, calls=calls, megapixels=megapixels)

    async def release(self, key_id: str, *, calls: int, megapixels: float) -> None:
        """Give back a reservation whose work failed or was cancelled."""
        async with self._session() as session:
            await session.execute(release_statement(key_id, calls=calls, megapixels=megapixels))
            await session.commit()


def is_key_owner(owner: str) -> bool:
    """Whether ``owner`` (a task's or a usage row's caller) is an API key id."""
    return key_uuid(owner) is not None
