"""license library

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "documents",
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("stored_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("sha256"),
    )
    op.create_table(
        "licenses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=128), nullable=False),
        sa.Column("license_number", sa.String(length=64), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("type_code", sa.String(length=21), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("issuer_code", sa.String(length=18), nullable=False),
        sa.Column("serial", sa.String(length=30), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("holder_name", sa.String(length=200), nullable=False),
        sa.Column("holder_id_type", sa.String(length=3), nullable=False),
        sa.Column("holder_id_digest", sa.String(length=64), nullable=False),
        sa.Column("holder_id_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("fields_json", sa.Text(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "valid",
                "suspended",
                "revoked",
                "superseded",
                name="license_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_reason", sa.String(length=500), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("seal_serial_hex", sa.String(length=64), nullable=False),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(length=200), nullable=True),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["licenses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("department_id", "idempotency_key", name="uq_licenses_idempotency"),
        sa.UniqueConstraint("identifier"),
        sa.UniqueConstraint("issuer_code", "serial", "version", name="uq_licenses_serial_version"),
    )
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_licenses_department_id"), ["department_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_licenses_holder_id_digest"), ["holder_id_digest"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_licenses_license_number"), ["license_number"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_licenses_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_licenses_type_key"), ["type_key"], unique=False)

    op.create_table(
        "serial_counters",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["departments.id"],
        ),
        sa.PrimaryKeyConstraint("department_id"),
    )
    op.create_table(
        "license_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("license_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("from_status", sa.String(length=32), nullable=True),
        sa.Column("to_status", sa.String(length=32), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["license_id"],
            ["licenses.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("license_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_license_events_license_id"), ["license_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("license_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_license_events_license_id"))

    op.drop_table("license_events")
    op.drop_table("serial_counters")
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_licenses_type_key"))
        batch_op.drop_index(batch_op.f("ix_licenses_sha256"))
        batch_op.drop_index(batch_op.f("ix_licenses_license_number"))
        batch_op.drop_index(batch_op.f("ix_licenses_holder_id_digest"))
        batch_op.drop_index(batch_op.f("ix_licenses_department_id"))

    op.drop_table("licenses")
    op.drop_table("documents")
