"""licenses: an index on (issued_at, type_key, department_id) for the statistics page

Each month's licenses per type are counted from the index alone (a range of it), for the
whole service or one department, instead of reading every license of the period.

Revision ID: 0024
Revises: 0022
"""

from alembic import op

revision = "0024"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_licenses_issued_type", "licenses", ["issued_at", "type_key", "department_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_licenses_issued_type", table_name="licenses")
