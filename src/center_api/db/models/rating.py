"""Ratings of results: one per owner and result (a task, or a synchronous call's request id)."""

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column


class ResultRating(UUIDv7AuditBase):
    """An owner's score (1-5) and comment for one result; rating again changes it."""

    __tablename__ = "result_ratings"
    __table_args__ = (
        UniqueConstraint("owner", "subject", name="uq_result_ratings_owner_subject"),
        Index("ix_result_ratings_tool_created", "tool", "created_at"),
        Index("ix_result_ratings_score_created", "score", "created_at"),
    )

    # Who rated: the API key id, or "anonymous" (open mode).
    owner: Mapped[str] = mapped_column(String(64))
    # What was rated: "task:<uuid>" or "request:<request id>" (the uniqueness key).
    subject: Mapped[str] = mapped_column(String(160))
    task_id: Mapped[str | None] = mapped_column(String(36), default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    tool: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(128), default=None)
    score: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
