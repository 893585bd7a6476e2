"""Entitlement to license types, as the library records it: grants, denials, checks.

The rule itself is ``trustsvc.licenses.issuers.is_entitled``; this module reads
what it needs from the database: a department's kind and region, and the
explicit grants and denials (``trustsvc department allow-type`` /
``deny-type``), each kept with its time so that a decision applies to seals
made after it and never to those made before. Issuance asks a snapshot
(``EntitlementBook``, refreshed every few seconds) before any work, and decides
inside the transaction that records the license (``require_entitlement``: one
indexed query); verification reads only the snapshot, so that its hot path
costs a dictionary lookup and no query.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.codes.identifiers import validate_credit_code
from trustsvc.db import Database
from trustsvc.db.models import Department, TypeEntitlement
from trustsvc.departments.kinds import DepartmentKind
from trustsvc.departments.seals import ActiveSeal
from trustsvc.errors import InvalidInputError, NotFoundError, TypeNotEntitledError
from trustsvc.licenses.issuers import Decision, Issuer, is_entitled
from trustsvc.licenses.types import LicenseType, get_type, load_types
from trustsvc.services import Services

#: How old the verifier's snapshot of departments and decisions may grow.
BOOK_MAX_AGE_SECONDS = 5.0
_REASON_MAX = 500


@cache
def packaged_types() -> Mapping[str, LicenseType]:
    """The shipped license types, read once per process."""
    return load_types()


def department_kind(text: str | None) -> DepartmentKind | None:
    """A stored kind, or None (an unknown stored value entitles by no kind: fail closed)."""
    try:
        return DepartmentKind(text) if text else None
    except ValueError:
        return None


def _issuer(department: Department) -> Issuer:
    return Issuer(department.code, department_kind(department.kind), department.region_code)


_DECISIONS = select(TypeEntitlement.at, TypeEntitlement.allowed).where(
    TypeEntitlement.department_id == bindparam("department_id"),
    TypeEntitlement.type_key == bindparam("type_key"),
)


def require_entitlement(
    session: Session, license_type: LicenseType, seal: ActiveSeal, moment: datetime
) -> None:
    """Refuse (``TypeNotEntitledError``) if the sealing department may not issue the type.

    The department's kind and region come with its seal (read when the seal
    was); the explicit decisions are read here, in the caller's transaction:
    one indexed query.
    """
    decisions = [
        Decision(at, allowed)
        for at, allowed in session.execute(
            _DECISIONS, {"department_id": seal.department_id, "type_key": license_type.key}
        )
    ]
    issuer = Issuer(seal.department_code, department_kind(seal.kind), seal.region_code)
    if not is_entitled(license_type.issuers, issuer, decisions, moment):
        explicit = any(d.at <= moment for d in decisions)
        why = (
            "it was denied this type (trustsvc department deny-type)"
            if explicit
            else f"the type is issued by {license_type.issuers.describe()}"
        )
        raise TypeNotEntitledError(
            f"department {seal.department_name} ({seal.department_code}) is not entitled to "
            f"issue {license_type.name_zh} ({license_type.key}): {why}"
        )


@dataclass(frozen=True)
class EntitlementChange:
    """A grant or denial as recorded."""

    department_code: str
    type_key: str
    allowed: bool
    at: datetime
    reason: str | None


def set_entitlement(
    services: Services,
    code: str,
    type_key: str,
    *,
    allowed: bool,
    reason: str | None = None,
    operator: Operator | None = None,
    types: Mapping[str, LicenseType] | None = None,
) -> EntitlementChange:
    """Grant (``allowed``) or deny a department a license type, from now on."""
    code = validate_credit_code(code)
    license_type = get_type(types if types is not None else packaged_types(), type_key)
    cleaned = (reason or "").strip() or None
    if cleaned is not None and len(cleaned) > _REASON_MAX:
        raise InvalidInputError(f"a reason is at most {_REASON_MAX} characters")
    operator = operator or Operator.local()
    with services.database.begin() as session:
        department = session.scalar(select(Department).where(Department.code == code))
        if department is None:
            raise NotFoundError(f"no department with credit code {code}")
        now = services.clock.now()
        session.add(
            TypeEntitlement(
                department_id=department.id,
                type_key=license_type.key,
                allowed=allowed,
                at=now,
                actor=operator.name[:200],
                reason=cleaned,
            )
        )
        record_operation(
            session,
            operator,
            OperatorAction.TYPE_ALLOW if allowed else OperatorAction.TYPE_DENY,
            code,
            now,
            {"type": license_type.key, "reason": cleaned},
        )
    return EntitlementChange(code, license_type.key, allowed, now, cleaned)


@dataclass(frozen=True)
class TypeStanding:
    """Whether a department may issue one license type now, and why."""

    license_type: LicenseType
    #: What the type's own issuer rule says of the department.
    by_rule: bool
    #: What holds now: the newest explicit decision, else the rule.
    entitled: bool
    #: The newest explicit decision, if any.
    latest: EntitlementChange | None


def standings(
    services: Services, code: str, types: Mapping[str, LicenseType] | None = None
) -> list[TypeStanding]:
    """Each type's standing for the department now, as issuance would decide it."""
    code = validate_credit_code(code)
    known = types if types is not None else packaged_types()
    with services.database.begin() as session:
        department = session.scalar(select(Department).where(Department.code == code))
        if department is None:
            raise NotFoundError(f"no department with credit code {code}")
        issuer = _issuer(department)
        rows = session.scalars(
            select(TypeEntitlement)
            .where(TypeEntitlement.department_id == department.id)
            .order_by(TypeEntitlement.at, TypeEntitlement.id)
        ).all()
        now = services.clock.now()
        decisions: dict[str, list[Decision]] = {}
        latest: dict[str, EntitlementChange] = {}
        for row in rows:
            decisions.setdefault(row.type_key, []).append(Decision(row.at, row.allowed))
            if row.at <= now:
                latest[row.type_key] = EntitlementChange(
                    code, row.type_key, row.allowed, row.at, row.reason
                )
    return [
        TypeStanding(
            license_type,
            license_type.issuers.admits(issuer),
            is_entitled(license_type.issuers, issuer, decisions.get(key, ()), now),
            latest.get(key),
        )
        for key, license_type in sorted(known.items())
    ]


@dataclass(frozen=True)
class _Snapshot:
    issuers: dict[str, Issuer]
    decisions: dict[tuple[str, str], tuple[Decision, ...]]
    taken: float


class EntitlementBook:
    """Departments and decisions as of a few seconds ago, for verifying seals quickly."""

    def __init__(self, database: Database, max_age_seconds: float = BOOK_MAX_AGE_SECONDS) -> None:
        self._database = database
        self._max_age = max_age_seconds
        self._snapshot: _Snapshot | None = None
        self._lock = threading.Lock()

    def _current(self) -> _Snapshot:
        snapshot = self._snapshot
        if snapshot is not None and time.monotonic() - snapshot.taken < self._max_age:
            return snapshot
        with self._lock:
            if self._snapshot is not None and self._snapshot is not snapshot:
                return self._snapshot
            with self._database.begin() as session:
                departments = session.scalars(select(Department)).all()
                by_id = {d.id: d.code for d in departments}
                decisions: dict[tuple[str, str], list[Decision]] = {}
                for row in session.scalars(select(TypeEntitlement)):
                    key = (by_id[row.department_id], row.type_key)
                    decisions.setdefault(key, []).append(Decision(row.at, row.allowed))
                fresh = _Snapshot(
                    {d.code: _issuer(d) for d in departments},
                    {key: tuple(found) for key, found in decisions.items()},
                    time.monotonic(),
                )
            self._snapshot = fresh
            return fresh

    def entitled(
        self,
        license_type: LicenseType,
        issuer_code: str,
        moment: datetime | Callable[[], datetime],
    ) -> bool | None:
        """Whether the department might issue the type at ``moment``; None if it is unknown.

        ``moment`` may be a function, called only when the answer depends on the time
        (there are explicit decisions): finding the moment may cost a query.
        """
        snapshot = self._current()
        issuer = snapshot.issuers.get(issuer_code)
        if issuer is None:
            return None
        decisions = snapshot.decisions.get((issuer_code, license_type.key), ())
        if not decisions:
            return license_type.issuers.admits(issuer)
        when = moment() if callable(moment) else moment
        return is_entitled(license_type.issuers, issuer, decisions, when)

    def refuse_early(self, license_type: LicenseType, seal: ActiveSeal, now: datetime) -> None:
        """Refuse a type the department is not entitled to before any work is done.

        The snapshot may be seconds old: what it refuses is confirmed in the
        database (a grant just made counts), and what it lets through is decided
        where the license is recorded (``require_entitlement``).
        """
        if self.entitled(license_type, seal.department_code, now) is not True:
            with self._database.begin() as session:
                require_entitlement(session, license_type, seal, now)


def type_by_code(code: str) -> LicenseType | None:
    """The packaged type with this GB/T 36904 type code, if any."""
    return _types_by_code().get(code)


@cache
def _types_by_code() -> dict[str, LicenseType]:
    return {t.code: t for t in packaged_types().values()}


__all__ = [
    "EntitlementBook",
    "EntitlementChange",
    "TypeStanding",
    "packaged_types",
    "require_entitlement",
    "set_entitlement",
    "standings",
    "type_by_code",
]
