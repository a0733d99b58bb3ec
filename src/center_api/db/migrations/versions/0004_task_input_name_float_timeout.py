"""Tasks remember their upload's name, and keep sub-second timeouts.

``processing_tasks.input_name`` is the (sanitised) file name the image was uploaded under; a
batch names its zip entries after it. ``processing_tasks.timeout_s`` becomes a float, so a
timeout of 0.5 s is no longer truncated to 0 (which meant "no timeout").

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("processing_tasks") as batch:
        batch.add_column(sa.Column("input_name", sa.String(length=255), nullable=True))
        batch.alter_column(
            "timeout_s", existing_type=sa.Integer(), type_=sa.Float(), existing_nullable=True
        )


def downgrade() -> None:
    """Revert this revision (a sub-second timeout becomes 1 s rather than "none")."""
    op.execute("UPDATE processing_tasks SET timeout_s = 1 WHERE timeout_s > 0 AND timeout_s < 1")
    with op.batch_alter_table("processing_tasks") as batch:
        batch.alter_column(
            "timeout_s", existing_type=sa.Float(), type_=sa.Integer(), existing_nullable=True
        )
        batch.drop_column("input_name")
