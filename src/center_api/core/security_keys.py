"""The API-key table: create, list, revoke, authenticate, and charge quota after a call."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from sqlalchemy import select, update

from center_api.core.errors import InsufficientQuotaError, ValidationError
from center_api.core.security import ROLES, mint_key, secret_matches, split_key
from center_api.db.models.api_key import ApiKey


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
        async with self._db.get_session() as session:
            session.add(row)
            await session.commit()
        return row, new.token

    async def list(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones included)."""
        async with self._db.get_session() as session:
            rows = await session.scalars(select(ApiKey).order_by(ApiKey.created_at))
            return list(rows)

    async def revoke(self, ident: str) -> bool:
        """Revoke the key whose id or prefix is ``ident``; False if there is none."""
        condition = ApiKey.prefix == ident if len(ident) == 12 else ApiKey.id == _uuid(ident)
        async with self._db.get_session() as session:
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
        async with self._db.get_session() as session:
            row = await session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
        if row is None or not secret_matches(secret, row.secret_hash):
            return None
        return None if row.revoked_at is not None else row

    async def charge(self, key_id: str, *, calls: int, megapixels: float) -> None:
        """Add a finished call to the key's usage and stamp ``last_used_at`` (atomic UPDATE)."""
        async with self._db.get_session() as session:
            await session.execute(
                update(ApiKey)
                .where(ApiKey.id == _uuid(key_id))
                .values(
                    used_calls=ApiKey.used_calls + calls,
                    used_megapixels=ApiKey.used_megapixels + megapixels,
                    last_used_at=datetime.now(UTC),
                )
            )
            await session.commit()


def ensure_quota_left(key: ApiKey) -> None:
    """Refuse a call when the key's call or megapixel quota is used up.

    Raises:
        InsufficientQuotaError: 402, with the quota and usage in ``details``.
    """
    calls_out = key.quota_calls is not None and key.used_calls >= key.quota_calls
    mp_out = key.quota_megapixels is not None and key.used_megapixels >= key.quota_megapixels
    if calls_out or mp_out:
        raise InsufficientQuotaError(
            "This key's quota is used up.",
            details={
                "quota_calls": key.quota_calls,
                "used_calls": key.used_calls,
                "quota_megapixels": key.quota_megapixels,
                "used_megapixels": round(key.used_megapixels, 4),
            },
        )


def _uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None
