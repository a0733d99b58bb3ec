"""One row per slice call, synchronous or from a task."""

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import Float, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column


class ToolUsage(UUIDv7AuditBase):
    """A slice call: who, which tool, how it ended, how long, how big."""

    __tablename__ = "tool_usage"
    __table_args__ = (
        Index("ix_tool_usage_tool_created", "tool", "created_at"),
        Index("ix_tool_usage_caller_created", "caller", "created_at"),
        Index("ix_tool_usage_outcome_created", "outcome", "created_at"),
    )

    tool: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(64), default="anonymous")
    # success | client_error | server_error
    outcome: Mapped[str] = mapped_column(String(16))
    status_code: Mapped[int] = mapped_column(Integer)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    duration_ms: Mapped[float] = mapped_column(Float)
    megapixels: Mapped[float | None] = mapped_column(Float, default=None)
    # The model that answered (the X-Model of the response), where the tool names one.
    model: Mapped[str | None] = mapped_column(String(128), default=None)
    input_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    output_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    request_id: Mapped[str | None] = mapped_column(String(128), default=None)
    task_id: Mapped[str | None] = mapped_column(String(36), default=None, index=True)
