"""log_checkpoints: every published checkpoint, not only the latest

The log head keeps the latest (its compare-and-swap is unchanged); each checkpoint
that wins it is also added here, in the same transaction, so that `trustsvc ledger
verify` can hold consecutive checkpoints to each other. The checkpoint published
before this revision is the history's first.

Revision ID: 0025
Revises: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "log_checkpoints",
        # One checkpoint per tree size: a publisher publishes only a larger tree.
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute(
        "INSERT INTO log_checkpoints (size, note, published_at) "
        "SELECT checkpoint_size, checkpoint, published_at FROM log_head "
        "WHERE checkpoint IS NOT NULL AND published_at IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("log_checkpoints")
