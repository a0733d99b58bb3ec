"""Tasks report a stage and keep a checkpoint; usage names the model; results can be rated.

``processing_tasks.stage`` is what a running task says it does; ``checkpoint_position`` and
``checkpoint_state`` are its last safe point (set once a run has one: only such runs pause
midway, and a resumed run starts there). ``tool_usage.model`` is the model that answered.
``result_ratings`` holds one score (1-5) and comment per owner and result.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from advanced_alchemy.types import GUID, DateTimeUTC, JsonB
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Apply this revision."""
    with op.batch_alter_table("processing_tasks") as batch:
        batch.add_column(sa.Column("stage", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("checkpoint_position", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("checkpoint_state", JsonB, nullable=True))
    with op.batch_alter_table("tool_usage") as batch:
        batch.add_column(sa.Column("model", sa.String(length=128), nullable=True))
    op.create_table(
        "result_ratings",
        sa.Column("id", GUID(length=16), nullable=False),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=160), nullable=False),
        sa.Column("task_id", sa.String(length=36), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("tool", sa.String(length=64), nullable=False),
        sa.Column("model", sa.String(length=128), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column("created_at", DateTimeUTC(timezone=True), nullable=False),
        sa.Column("updated_at", DateTimeUTC(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_result_ratings")),
        sa.UniqueConstraint("owner", "subject", name="uq_result_ratings_owner_subject"),
    )
    with op.batch_alter_table("result_ratings") as batch:
        batch.create_index("ix_result_ratings_tool_created", ["tool", "created_at"])
        batch.create_index("ix_result_ratings_score_created", ["score", "created_at"])


def downgrade() -> None:
    """Revert this revision (ratings are dropped)."""
    op.drop_table("result_ratings")
    with op.batch_alter_table("tool_usage") as batch:
        batch.drop_column("model")
    with op.batch_alter_table("processing_tasks") as batch:
        batch.drop_column("checkpoint_state")
        batch.drop_column("checkpoint_position")
        batch.drop_column("stage")
