"""The transparency log's storage: entries, the sequence counter, stored hashes, the head

Revision ID: 0019
Revises: 0018
"""

import hashlib

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

#: RFC 6962's hash of the empty tree: SHA-256 of no bytes.
_EMPTY_ROOT = hashlib.sha256(b"").digest()


def upgrade() -> None:
    op.create_table(
        "log_entries",
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("appended_at", sa.DateTime(timezone=True), nullable=False),
    )
    sequence = op.create_table(
        "log_sequence",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("next_idx", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_log_sequence_one_row"),
    )
    op.create_table(
        "log_hashes",
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    head = op.create_table(
        "log_head",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("integrated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkpoint_size", sa.BigInteger(), nullable=False),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("id = 1", name="ck_log_head_one_row"),
    )
    # The single rows exist from the start, so that appending and integrating are only
    # ever UPDATEs of one locked row: no first-use race between two nodes.
    op.bulk_insert(sequence, [{"id": 1, "next_idx": 0}])
    op.bulk_insert(head, [{"id": 1, "size": 0, "root": _EMPTY_ROOT, "checkpoint_size": 0}])


def downgrade() -> None:
    op.drop_table("log_head")
    op.drop_table("log_hashes")
    op.drop_table("log_sequence")
    op.drop_table("log_entries")
