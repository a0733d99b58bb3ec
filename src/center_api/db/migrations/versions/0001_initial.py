"""Initial tables: processing_tasks, tool_usage, api_keys.

Revision ID: 0001
Revises: (none)
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.create_table(
        "api_keys",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=256), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("quota_megapixels", sa.Float(), nullable=True),
        sa.Column("quota_calls", sa.Integer(), nullable=True),
        sa.Column("used_megapixels", sa.Float(), nullable=False),
        sa.Column("used_calls", sa.Integer(), nullable=False),
        sa.Column("rate_per_minute", sa.Integer(), nullable=True),
        sa.Column("last_used_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("revoked_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_keys_prefix")),
    )
    op.create_table(
        "processing_tasks",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("options", JsonB, nullable=False),
        sa.Column("input_ref", sa.String(length=512), nullable=True),
        sa.Column("result_ref", sa.String(length=512), nullable=True),
        sa.Column("result_media_type", sa.String(length=64), nullable=True),
        sa.Column("progress", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("error_message", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("max_attempts", sa.Integer(), nullable=False),
        sa.Column("timeout_s", sa.Integer(), nullable=True),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("callback_url", sa.String(length=2048), nullable=True),
        sa.Column("parent_id", GUID(length=16), nullable=True),
        sa.Column("started_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("finished_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("expires_at", DateTimeUTC(timezone=True), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["processing_tasks.id"],
            name=op.f("fk_processing_tasks_parent_id_processing_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_processing_tasks")),
    )
    with op.batch_alter_table("processing_tasks", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_processing_tasks_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_processing_tasks_parent_id"), ["parent_id"], unique=False
        )
        batch_op.create_index(
            "ix_processing_tasks_status_priority_created",
            ["status", "priority", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_processing_tasks_tool_status", ["tool", "status"], unique=False)

    op.create_table(
        "tool_usage",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("caller", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=64), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("megapixels", sa.Float(), nullable=True),
        sa.Column("input_bytes", sa.Integer(), nullable=True),
        sa.Column("output_bytes", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tool_usage")),
    )
    with op.batch_alter_table("tool_usage", schema=None) as batch_op:
        batch_op.create_index(
            "ix_tool_usage_caller_created", ["caller", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_tool_usage_outcome_created", ["outcome", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_tool_usage_task_id"), ["task_id"], unique=False)
        batch_op.create_index("ix_tool_usage_tool_created", ["tool", "created_at"], unique=False)


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("tool_usage", schema=None) as batch_op:
        batch_op.drop_index("ix_tool_usage_tool_created")
        batch_op.drop_index(batch_op.f("ix_tool_usage_task_id"))
        batch_op.drop_index("ix_tool_usage_outcome_created")
        batch_op.drop_index("ix_tool_usage_caller_created")

    op.drop_table("tool_usage")
    with op.batch_alter_table("processing_tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_processing_tasks_tool_status")
        batch_op.drop_index("ix_processing_tasks_status_priority_created")
        batch_op.drop_index(batch_op.f("ix_processing_tasks_parent_id"))
        batch_op.drop_index(batch_op.f("ix_processing_tasks_expires_at"))

    op.drop_table("processing_tasks")
    op.drop_table("api_keys")
