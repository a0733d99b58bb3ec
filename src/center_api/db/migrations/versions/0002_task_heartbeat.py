"""processing_tasks.heartbeat_at: when the worker running a task last said it is alive.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import DateTimeUTC
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("processing_tasks") as batch:
        batch.add_column(sa.Column("heartbeat_at", DateTimeUTC(timezone=True), nullable=True))


def downgrade() -> None:
    """Revert this revision."""
    with op.batch_alter_table("processing_tasks") as batch:
        batch.drop_column("heartbeat_at")
