"""presentations and verification events

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "presentations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("single_use", sa.Boolean(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("intended_verifier", sa.String(length=200), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("nonce"),
    )
    with op.batch_alter_table("presentations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_presentations_license_id"), ["license_id"], unique=False
        )

    op.create_table(
        "verification_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("presentation_id", sa.Integer(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("checked_by", sa.String(length=200), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=True),
        sa.Column("verdict", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
        ),
        sa.ForeignKeyConstraint(
            ["presentation_id"],
            ["presentations.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("verification_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verification_events_license_id"), ["license_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("verification_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verification_events_license_id"))

    op.drop_table("verification_events")
    with op.batch_alter_table("presentations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presentations_license_id"))

    op.drop_table("presentations")
