"""department kinds, type entitlements, the purpose catalogue

Revision ID: 0013
Revises: 0010

Existing departments get the kind their name states (市场监督管理局 ->
market-regulation, ...), by the same table ``department add`` uses when no
kind is given; names that state none keep no kind. Every purpose an existing
verifier client may state becomes a catalogue entry that sees the license
types shipped when this migration was written, marked ``migrated`` so that
``trustsvc purpose list`` shows it for review: those clients keep working
exactly as before until an operator narrows the entry.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0010"
branch_labels = None
depends_on = None

# Frozen copies, as of this migration: later changes to the code must not change history.
_KINDS_BY_NAME = (
    ("市场监督管理", "market-regulation"),
    ("住房和城乡建设", "housing-construction"),
    ("自然资源", "natural-resources"),
    ("不动产登记", "natural-resources"),
    ("行政审批", "administrative-approval"),
    ("公安", "public-security"),
    ("民政", "civil-affairs"),
    ("卫生健康", "health"),
    ("人力资源和社会保障", "human-resources"),
    ("交通运输", "transport"),
    ("生态环境", "ecology-environment"),
    ("教育", "education"),
)
_SHIPPED_TYPES = (
    "administrative-permission-decision",
    "business-license",
    "construction-permit",
    "food-business-permit",
    "real-estate-certificate",
)


def _kind_of(name: str) -> str | None:
    for words, kind in _KINDS_BY_NAME:
        if words in name:
            return kind
    return None


def upgrade() -> None:
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=40), nullable=True))
    op.create_table(
        "type_entitlements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.Integer(), nullable=False),
        sa.Column("type_key", sa.String(length=64), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(["department_id"], ["departments.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("type_entitlements", schema=None) as batch_op:
        batch_op.create_index(
            "ix_type_entitlements_department_type", ["department_id", "type_key"], unique=False
        )
    op.create_table(
        "purposes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("types_json", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("migrated", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )

    connection = op.get_bind()
    departments = sa.table(
        "departments", sa.column("id", sa.Integer), sa.column("name"), sa.column("kind")
    )
    for row_id, name in connection.execute(sa.select(departments.c.id, departments.c.name)):
        kind = _kind_of(name)
        if kind is not None:
            connection.execute(
                departments.update().where(departments.c.id == row_id).values(kind=kind)
            )
    clients = sa.table("api_clients", sa.column("purposes_json"))
    named: list[str] = []
    for (purposes_json,) in connection.execute(sa.select(clients.c.purposes_json)):
        for purpose in json.loads(purposes_json or "[]"):
            if isinstance(purpose, str) and purpose not in named:
                named.append(purpose)
    purposes = sa.table(
        "purposes",
        sa.column("name"),
        sa.column("types_json"),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("migrated", sa.Boolean),
    )
    now = datetime.now(UTC)
    for purpose in named:
        connection.execute(
            purposes.insert().values(
                name=purpose,
                types_json=json.dumps(list(_SHIPPED_TYPES)),
                created_at=now if connection.dialect.name != "sqlite" else now.replace(tzinfo=None),
                migrated=True,
            )
        )


def downgrade() -> None:
    op.drop_table("purposes")
    with op.batch_alter_table("type_entitlements", schema=None) as batch_op:
        batch_op.drop_index("ix_type_entitlements_department_type")
    op.drop_table("type_entitlements")
    with op.batch_alter_table("departments", schema=None) as batch_op:
        batch_op.drop_column("kind")
