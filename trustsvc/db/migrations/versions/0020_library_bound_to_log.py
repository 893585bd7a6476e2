"""The library bound to the transparency log: each row's log index, each license's entry hash

Revision ID: 0020
Revises: 0019

Rows written before this migration have no entry (NULL): ``trustsvc ledger
verify`` names them, and the online verifier does not take such a license for
one the log vouches for.
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_EVENT_TABLES = ("license_events", "verification_events", "access_events", "operator_events")


def upgrade() -> None:
    op.add_column("licenses", sa.Column("log_index", sa.BigInteger(), nullable=True))
    op.add_column("licenses", sa.Column("log_entry_hash", sa.LargeBinary(32), nullable=True))
    for table in _EVENT_TABLES:
        op.add_column(table, sa.Column("log_index", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in ("licenses", *_EVENT_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("log_index")
            if table == "licenses":
                batch_op.drop_column("log_entry_hash")
