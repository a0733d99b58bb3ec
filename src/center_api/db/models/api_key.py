"""API keys: only a hash of the secret is stored."""

from datetime import datetime

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import DateTimeUTC
from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class ApiKey(UUIDv7AuditBase):
    """A client credential with a role, optional quota and rate limit."""

    __tablename__ = "api_keys"

    name: Mapped[str] = mapped_column(String(128))
    # The public, non-secret start of the key: how a presented key finds its row.
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(256))
    role: Mapped[str] = mapped_column(String(16), default="user")
    quota_megapixels: Mapped[float | None] = mapped_column(Float, default=None)
    quota_calls: Mapped[int | None] = mapped_column(Integer, default=None)
    used_megapixels: Mapped[float] = mapped_column(Float, default=0.0)
    used_calls: Mapped[int] = mapped_column(Integer, default=0)
    rate_per_minute: Mapped[int | None] = mapped_column(Integer, default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
