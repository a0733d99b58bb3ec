"""Tenancy: tasks listed per owner, the quota each task holds, the last callback delivery.

``processing_tasks.caller`` is the owner (an API key id, or ``anonymous`` in open mode); older
rows without one become the anonymous owner's.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    op.execute(
        "UPDATE processing_tasks SET caller = 'anonymous' WHERE caller IS NULL OR caller = ''"
    )
    with op.batch_alter_table("processing_tasks") as batch:
        batch.add_column(
            sa.Column("reserved_megapixels", sa.Float(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("callback_status", sa.String(length=64), nullable=True))
        batch.add_column(
            sa.Column("callback_attempts", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("callback_at", DateTimeUTC(timezone=True), nullable=True))
        batch.create_index("ix_processing_tasks_caller_created", ["caller", "created_at"])


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("processing_tasks") as batch:
        batch.drop_index("ix_processing_tasks_caller_created")
        batch.drop_column("callback_at")
        batch.drop_column("callback_attempts")
        batch.drop_column("callback_status")
        batch.drop_column("reserved_megapixels")
