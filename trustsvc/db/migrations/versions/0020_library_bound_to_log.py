"""The library bound to the transparency log: each row's log index, each license's entry hash

Revision ID: 0020
Revises: 0024

Rows written before this migration are adopted into the log here, in this
transaction (``trustsvc.audit.adoption``): each earlier event row gets its
entry, then each license record an entry vouching for it as it stands, so that
the online verifier holds every license to the log from the upgrade on.
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision = "0020"
down_revision = "0024"
branch_labels = None
depends_on = None

_EVENT_TABLES = ("license_events", "verification_events", "access_events", "operator_events")


def upgrade() -> None:
    op.add_column("licenses", sa.Column("log_index", sa.BigInteger(), nullable=True))
    op.add_column("licenses", sa.Column("log_entry_hash", sa.LargeBinary(32), nullable=True))
    for table in _EVENT_TABLES:
        op.add_column(table, sa.Column("log_index", sa.BigInteger(), nullable=True))
    # The log's format, not the schema, is what this calls on: entry version 1 is fixed.
    from trustsvc.audit.adoption import adopt_unlogged

    session = Session(bind=op.get_bind())
    try:
        adopt_unlogged(session)
        session.flush()
    finally:
        session.close()


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN on both databases (SQLite 3.35 and later): a batch
    # copy of licenses would trip the foreign keys that point at it.
    for table in ("licenses", *_EVENT_TABLES):
        op.drop_column(table, "log_index")
    op.drop_column("licenses", "log_entry_hash")
