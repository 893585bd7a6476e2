"""holder access record: one index for paging uses and refusals newest first

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("access_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_events_holder_record", ["holder_id_digest", "outcome", "id"], unique=False
        )
        batch_op.drop_index("ix_access_events_holder_id_digest")


def downgrade() -> None:
    with op.batch_alter_table("access_events", schema=None) as batch_op:
        batch_op.create_index(
            "ix_access_events_holder_id_digest", ["holder_id_digest"], unique=False
        )
        batch_op.drop_index("ix_access_events_holder_record")
