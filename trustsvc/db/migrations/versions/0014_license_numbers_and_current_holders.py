"""license numbers accounted for one by one; at most one current license per holder where unique

Revision ID: 0014
Revises: 0013

Printed license numbers (证照编号) used to come from the department's serial
counter, shared by every type and reserved in blocks; from now on each
(department, type, year) has a counter of its own and every number reserved is
recorded in ``license_numbers``. So that a new number never repeats one printed
before, the counters of every department, type and year that already has
licenses start above the department's old shared counter (a year too late is
included, since the printed year is the service's local year).
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("current_holder_digest", sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(
            "uq_licenses_current_holder", ["type_key", "current_holder_digest"]
        )
    op.create_table(
        "number_counters",
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("scope_year", sa.Integer(), nullable=False),
        sa.Column("next_value", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("department_id", "type_key", "scope_year"),
    )
    op.create_table(
        "license_numbers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("scope_year", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "reserved",
                "issued",
                "void",
                name="number_state",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reserved_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reserved_by", sa.String(length=200), nullable=False),
        sa.Column("settled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("license_id", sa.Integer(), nullable=True),
        sa.Column("void_reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.ForeignKeyConstraint(["license_id"], ["licenses.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "department_id", "type_key", "scope_year", "sequence", name="uq_license_numbers"
        ),
    )
    with op.batch_alter_table("license_numbers", schema=None) as batch_op:
        batch_op.create_index("ix_license_numbers_state", ["state", "reserved_at"], unique=False)
    _seed_counters()


def _seed_counters() -> None:
    connection = op.get_bind()
    floors: dict[int, int] = {
        int(department_id): int(next_value)
        for department_id, next_value in connection.execute(
            sa.text("SELECT department_id, next_value FROM serial_counters")
        )
    }
    scopes: set[tuple[int, str, int]] = set()
    for department_id, type_key, issued_at in connection.execute(
        sa.text("SELECT department_id, type_key, issued_at FROM licenses")
    ):
        if isinstance(issued_at, datetime):  # PostgreSQL; SQLite gives the stored UTC text
            year = (issued_at.astimezone(UTC) if issued_at.tzinfo else issued_at).year
        else:
            year = int(str(issued_at)[:4])
        scopes.update(
            {(department_id, type_key, year), (department_id, type_key, year + 1)}
            | {(department_id, type_key, 0)}
        )
    counters = sa.table(
        "number_counters",
        sa.column("department_id", sa.Integer()),
        sa.column("type_key", sa.String()),
        sa.column("scope_year", sa.Integer()),
        sa.column("next_value", sa.BigInteger()),
    )
    rows = [
        {"department_id": d, "type_key": t, "scope_year": y, "next_value": floors.get(d, 1)}
        for d, t, y in sorted(scopes)
    ]
    if rows:
        op.bulk_insert(counters, rows)


def downgrade() -> None:
    with op.batch_alter_table("license_numbers", schema=None) as batch_op:
        batch_op.drop_index("ix_license_numbers_state")
    op.drop_table("license_numbers")
    op.drop_table("number_counters")
    with op.batch_alter_table("licenses", schema=None) as batch_op:
        batch_op.drop_constraint("uq_licenses_current_holder", type_="unique")
        batch_op.drop_column("current_holder_digest")
