"""licenses and their events record which revocation it was: 注销 (cancelled) or 吊销 (withdrawn)

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable: revocations recorded before this change did not say which it was.
    for table in ("licenses", "license_events"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("revocation_kind", sa.String(length=16), nullable=True))


def downgrade() -> None:
    for table in ("licenses", "license_events"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("revocation_kind")
