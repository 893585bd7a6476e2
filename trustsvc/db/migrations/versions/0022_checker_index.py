"""verification_events: an index on who checked, for a clerk's list of their own checks

Revision ID: 0022
Revises: 0019
"""

from alembic import op

revision = "0022"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_verification_events_checker", "verification_events", ["checked_by", "id"])


def downgrade() -> None:
    op.drop_index("ix_verification_events_checker", table_name="verification_events")
