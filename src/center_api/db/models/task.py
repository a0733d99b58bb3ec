"""Asynchronous processing tasks (the state machine lives in the tasks domain)."""

from datetime import datetime
from typing import Any
from uuid import UUID

from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column


class ProcessingTask(UUIDv7AuditBase):
    """A submitted unit of work and everything needed to run, retry and answer it."""

    __tablename__ = "processing_tasks"
    __table_args__ = (
        # The queue's pick order: status, then priority (higher first), then age.
        Index("ix_processing_tasks_status_priority_created", "status", "priority", "created_at"),
        Index("ix_processing_tasks_tool_status", "tool", "status"),
        # A key lists its own tasks, newest first.
        Index("ix_processing_tasks_caller_created", "caller", "created_at"),
    )

    tool: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    priority: Mapped[int] = mapped_column(Integer, default=0)
    options: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    input_ref: Mapped[str | None] = mapped_column(String(512), default=None)
    # The sanitised name the image was uploaded under (a batch names its zip entries after it).
    input_name: Mapped[str | None] = mapped_column(String(255), default=None)
    result_ref: Mapped[str | None] = mapped_column(String(512), default=None)
    result_media_type: Mapped[str | None] = mapped_column(String(64), default=None)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    # What the work reports it is doing ("decode", "step 2/3", "frame 120/300").
    stage: Mapped[str | None] = mapped_column(String(64), default=None)
    # The last safe point of a pausable run (None: the run has none yet, so it cannot pause
    # midway) and what resuming from it needs.
    checkpoint_position: Mapped[int | None] = mapped_column(Integer, default=None)
    checkpoint_state: Mapped[dict[str, Any] | None] = mapped_column(JsonB, default=None)
    error_code: Mapped[str | None] = mapped_column(String(64), default=None)
    error_message: Mapped[str | None] = mapped_column(Text, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    # Seconds per attempt; a float, so 0.5 stays 0.5 (0 or None: no timeout).
    timeout_s: Mapped[float | None] = mapped_column(Float, default=None)
    # The owner: the API key id that submitted it, or "anonymous" (open mode). Only the owner
    # and admins see the task, its children, result and events.
    caller: Mapped[str] = mapped_column(String(64), default="anonymous")
    # Megapixels reserved on the owner's quota at submission (given back if the task fails).
    reserved_megapixels: Mapped[float] = mapped_column(Float, default=0.0)
    callback_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    # The last callback delivery: "200", "503", "timeout", "refused" …, how many tries, when.
    callback_status: Mapped[str | None] = mapped_column(String(64), default=None)
    callback_attempts: Mapped[int] = mapped_column(Integer, default=0)
    callback_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    parent_id: Mapped[UUID | None] = mapped_column(
        GUID, ForeignKey("processing_tasks.id", ondelete="CASCADE"), default=None, index=True
    )
    started_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    # Touched every ``tasks.heartbeat_s`` while PROCESSING; a stale one means a dead worker.
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None)
    expires_at: Mapped[datetime | None] = mapped_column(DateTimeUTC, default=None, index=True)
