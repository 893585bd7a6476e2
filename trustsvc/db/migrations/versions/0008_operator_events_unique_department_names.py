"""operator events; department names unique

Revision ID: 0008
Revises: 0006

Departments that already share a name keep it on the oldest; each later one
is renamed "name（credit code）" so that the unique index can be built. Their
seal certificates keep the subject they were issued with.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0006"
branch_labels = None
depends_on = None


def _rename_duplicates() -> None:
    connection = op.get_bind()
    departments = sa.table(
        "departments", sa.column("id", sa.Integer), sa.column("code"), sa.column("name")
    )
    seen: set[str] = set()
    rows = connection.execute(
        sa.select(departments.c.id, departments.c.code, departments.c.name).order_by(
            departments.c.id
        )
    ).all()
    for row_id, code, name in rows:
        if name in seen:
            renamed = f"{name}（{code}）"[:200]
            connection.execute(
                departments.update().where(departments.c.id == row_id).values(name=renamed)
            )
            seen.add(renamed)
        else:
            seen.add(name)


def upgrade() -> None:
    _rename_duplicates()
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_departments_name"), ["name"], unique=True)

    op.create_table(
        "operator_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("origin", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("details_json", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("operator_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_operator_events_action"), ["action"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("operator_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operator_events_action"))
    op.drop_table("operator_events")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_departments_name"))
