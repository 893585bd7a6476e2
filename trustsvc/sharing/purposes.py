"""The purpose catalogue (用证事由): each purpose and the license types it may see.

A verifier client may state only purposes of the catalogue, and a lookup under
a purpose answers only with licenses of the purpose's types: a bank that may
look up for 开立对公账户 sees business licenses, not a citizen's 不动产权证书.
The catalogue lives in the database, managed with ``trustsvc purpose
add|list|remove``; every change is in the operator record. Entries made by
migration 0013 from clients' free-text purposes see every type shipped then
and are marked ``migrated`` until an operator replaces them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.db.models import ApiClient, PurposeEntry
from trustsvc.errors import ConflictError, InvalidInputError, NotFoundError
from trustsvc.licenses.entitlement import packaged_types
from trustsvc.licenses.types import LicenseType, get_type
from trustsvc.services import Services
from trustsvc.text import clean_name

PURPOSE_MAX_LENGTH = 200


@dataclass(frozen=True)
class Purpose:
    """A purpose of the catalogue."""

    name: str
    #: Keys of the license types a lookup under this purpose may return.
    types: tuple[str, ...]
    created_at: datetime
    #: Made by the migration from a client's free-text purpose (every type): review it.
    migrated: bool


def _purpose(row: PurposeEntry) -> Purpose:
    return Purpose(row.name, tuple(json.loads(row.types_json)), row.created_at, row.migrated)


def clean_purpose(name: str) -> str:
    """A purpose's name, checked like other names (one line, printable, 1 to 200 characters)."""
    return clean_name(name, "a purpose", PURPOSE_MAX_LENGTH)


def add_purpose(
    services: Services,
    name: str,
    type_keys: Sequence[str],
    operator: Operator | None = None,
    types: Mapping[str, LicenseType] | None = None,
) -> Purpose:
    """Add a purpose that may see licenses of ``type_keys`` (at least one known type)."""
    name = clean_purpose(name)
    catalogue = types if types is not None else packaged_types()
    keys: list[str] = []
    for key in type_keys:
        license_type = get_type(catalogue, key)
        if license_type.key not in keys:
            keys.append(license_type.key)
    if not keys:
        raise InvalidInputError("a purpose sees at least one license type (--type)")
    now = services.clock.now()
    try:
        with services.database.begin() as session:
            row = PurposeEntry(
                name=name, types_json=json.dumps(keys), created_at=now, migrated=False
            )
            session.add(row)
            session.flush()
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.PURPOSE_ADD,
                name,
                now,
                {"types": keys},
            )
            return _purpose(row)
    except IntegrityError as exc:
        raise ConflictError(f"the purpose {name!r} is in the catalogue already") from exc


def list_purposes(services: Services) -> list[Purpose]:
    with services.database.begin() as session:
        rows = session.scalars(select(PurposeEntry).order_by(PurposeEntry.name)).all()
        return [_purpose(row) for row in rows]


def remove_purpose(services: Services, name: str, operator: Operator | None = None) -> Purpose:
    """Remove a purpose no active client may state (revoke or remake those clients first)."""
    wanted = name.strip()
    with services.database.begin() as session:
        row = session.scalar(select(PurposeEntry).where(PurposeEntry.name == wanted))
        if row is None:
            raise NotFoundError(f"no purpose {wanted!r} in the catalogue")
        users = [
            client.name
            for client in session.scalars(select(ApiClient).where(ApiClient.revoked_at.is_(None)))
            if wanted in json.loads(client.purposes_json)
        ]
        if users:
            raise ConflictError(
                f"the purpose {wanted!r} is stated by client(s) {', '.join(users)}; "
                "revoke them first"
            )
        removed = _purpose(row)
        session.delete(row)
        record_operation(
            session,
            operator or Operator.local(),
            OperatorAction.PURPOSE_REMOVE,
            wanted,
            services.clock.now(),
            {"types": list(removed.types)},
        )
        return removed


def require_known(session: Session, purposes: Sequence[str]) -> None:
    """Refuse purposes that are not in the catalogue (when a client is made)."""
    if not purposes:
        return
    known = set(
        session.scalars(select(PurposeEntry.name).where(PurposeEntry.name.in_(purposes))).all()
    )
    unknown = [p for p in purposes if p not in known]
    if unknown:
        raise InvalidInputError(
            f"purpose(s) not in the catalogue: {', '.join(unknown)}; "
            "add them with `trustsvc purpose add NAME --type T`"
        )


def types_of(session: Session, purpose: str) -> frozenset[str] | None:
    """The license types a purpose may see; None when it is not in the catalogue."""
    types_json = session.scalar(select(PurposeEntry.types_json).where(PurposeEntry.name == purpose))
    return None if types_json is None else frozenset(json.loads(types_json))


__all__ = [
    "Purpose",
    "add_purpose",
    "clean_purpose",
    "list_purposes",
    "remove_purpose",
    "require_known",
    "types_of",
]
