"""the trust bundle's signer: certificate role trust_list

Revision ID: 0016
Revises: 0015
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_BEFORE = ("root_ca", "issuing_ca", "tsa", "ocsp", "seal", "external_ca", "trust_anchor")
_AFTER = (*_BEFORE, "trust_list")


def _role(values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(
        *values, name="certificate_role", native_enum=False, create_constraint=True, length=32
    )


def _change(before: tuple[str, ...], after: tuple[str, ...]) -> None:
    # The role's CHECK constraint lists the values; batch mode rebuilds it (SQLite
    # cannot alter a constraint in place) and PostgreSQL gets DROP / ADD CONSTRAINT.
    with op.batch_alter_table("certificates", schema=None) as batch_op:
        batch_op.alter_column(
            "role", existing_type=_role(before), type_=_role(after), existing_nullable=False
        )


def upgrade() -> None:
    _change(_BEFORE, _AFTER)


def downgrade() -> None:
    _change(_AFTER, _BEFORE)
