"""Statistics of the records: licenses issued, verifications by verdict, lookups by purpose.

Every figure is counted by the database (``GROUP BY``) over a bounded period,
so a page of statistics reads a few dozen rows however large the records
grow. Months are the service's calendar months (its time zone, not UTC): the
month boundaries are computed here and each month is a range of timestamps,
which both SQLite and PostgreSQL compare alike, with no date function of
either dialect.

A scope is the whole service (auditors) or one department (its officers):
licenses are the department's by its row; a verification or a lookup is the
department's when its answer named one of the department's licenses (the
license identifier holds the issuer's credit code, GB/T 36904).
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import case, func, literal, select, union_all

from trustsvc.db import Context
from trustsvc.db.models import AccessEvent, Department, LicenseRecord
from trustsvc.errors import InvalidInputError

_CREDIT_CODE = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")

#: The longest period a statistics page may ask for, in months.
MAX_MONTHS = 24
#: Rows of lookups shown (purpose, client pairs), the most frequent first.
MAX_LOOKUP_ROWS = 50
#: The access-record actions that are verifications (``AccessAction`` values).
VERIFICATION_ACTIONS = ("verify_pdf", "verify_token", "presentation_check")
LOOKUP_ACTION = "lookup"


@dataclass(frozen=True)
class Month:
    """One calendar month in the service's time zone, as a half-open UTC interval."""

    #: "2026-12".
    label: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class Scope:
    """Whose records are counted: one department's (its credit code), or all (None)."""

    department_code: str | None = None

    def __post_init__(self) -> None:
        # The code goes into a LIKE pattern: only a credit code's characters may.
        if self.department_code is not None and not _CREDIT_CODE.fullmatch(self.department_code):
            raise InvalidInputError("a department is named by its 18-character credit code")


@dataclass(frozen=True)
class TypeCounts:
    """Licenses of one type issued in each month of the period."""

    type_key: str
    #: One count per month of the period, oldest first.
    counts: tuple[int, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True)
class IssuedTable:
    months: tuple[Month, ...]
    #: Types with at least one license in the period, the most issued first.
    types: tuple[TypeCounts, ...]

    def month_totals(self) -> tuple[int, ...]:
        return tuple(sum(t.counts[i] for t in self.types) for i in range(len(self.months)))


@dataclass(frozen=True)
class VerdictCount:
    verdict: str
    count: int


@dataclass(frozen=True)
class LookupCount:
    """Lookups one client made under one purpose."""

    purpose: str | None
    #: The client's name as the access record keeps it (a snapshot).
    client: str
    answered: int
    refused: int

    @property
    def total(self) -> int:
        return self.answered + self.refused


def last_months(now: datetime, zone: tzinfo, count: int = 12) -> tuple[Month, ...]:
    """The ``count`` calendar months up to and including the one ``now`` falls in."""
    if not 1 <= count <= MAX_MONTHS:
        raise ValueError(f"a period is 1 to {MAX_MONTHS} months")
    local = now.astimezone(zone)
    index = local.year * 12 + local.month - 1 - (count - 1)
    bounds = [
        datetime((index + i) // 12, (index + i) % 12 + 1, 1, tzinfo=zone) for i in range(count + 1)
    ]
    return tuple(Month(f"{b.year:04d}-{b.month:02d}", b, e) for b, e in itertools.pairwise(bounds))


def _issuer_pattern(scope: Scope) -> str | None:
    return f"%.{scope.department_code}.%" if scope.department_code else None


def issued_by_type_and_month(
    context: Context, scope: Scope, months: tuple[Month, ...]
) -> IssuedTable:
    """Licenses (every version) recorded in each month of ``months``, per license type.

    One grouped count per month over a range of ``ix_licenses_issued_type``, all in one
    statement (``UNION ALL``): the index holds every column read, so no license row is.
    """
    per_type: dict[str, list[int]] = {}
    with context.database.begin() as session:
        department_id = None
        if scope.department_code is not None:
            department_id = session.scalar(
                select(Department.id).where(Department.code == scope.department_code)
            )
            if department_id is None:
                return IssuedTable(months, ())
        parts = []
        for index, month in enumerate(months):
            part = (
                select(literal(index).label("bucket"), LicenseRecord.type_key, func.count())
                .where(LicenseRecord.issued_at >= month.start, LicenseRecord.issued_at < month.end)
                .group_by(LicenseRecord.type_key)
            )
            if department_id is not None:
                # "+ 0": not a match for the index on department_id alone, so that the
                # planners range over the covering index (SQLite otherwise reads a fifth
                # of the table, row by row, once per month).
                part = part.where(LicenseRecord.department_id + 0 == department_id)
            parts.append(part)
        for bucket, type_key, count in session.execute(union_all(*parts)):
            per_type.setdefault(type_key, [0] * len(months))[bucket] += count
    types = sorted(
        (TypeCounts(key, tuple(counts)) for key, counts in per_type.items()),
        key=lambda t: (-t.total, t.type_key),
    )
    return IssuedTable(months, tuple(types))


def verifications_by_verdict(
    context: Context, scope: Scope, start: datetime, end: datetime
) -> tuple[VerdictCount, ...]:
    """Answered verifications (PDF, token, presentation code) in [start, end), per verdict."""
    statement = (
        select(AccessEvent.answer, func.count())
        .where(
            AccessEvent.at >= start,
            AccessEvent.at < end,
            AccessEvent.action.in_(VERIFICATION_ACTIONS),
            AccessEvent.outcome == "answered",
        )
        .group_by(AccessEvent.answer)
    )
    pattern = _issuer_pattern(scope)
    if pattern is not None:
        statement = statement.where(AccessEvent.returned_json.like(pattern))
    with context.database.begin() as session:
        rows = [
            VerdictCount(answer or "unknown", count) for answer, count in session.execute(statement)
        ]
    return tuple(sorted(rows, key=lambda r: (-r.count, r.verdict)))


def lookups_by_purpose_and_client(
    context: Context, scope: Scope, start: datetime, end: datetime
) -> tuple[LookupCount, ...]:
    """Lookups in [start, end) per purpose and client, answered and refused apart.

    A department's scope counts the lookups that were answered with one of its
    licenses; a refused lookup names no license, so it counts only in the whole
    service's figures.
    """
    answered = func.sum(case((AccessEvent.outcome == "answered", 1), else_=0))
    refused = func.sum(case((AccessEvent.outcome == "refused", 1), else_=0))
    statement = (
        select(AccessEvent.purpose, AccessEvent.actor, answered, refused)
        .where(AccessEvent.at >= start, AccessEvent.at < end, AccessEvent.action == LOOKUP_ACTION)
        .group_by(AccessEvent.purpose, AccessEvent.actor)
        .order_by(func.count().desc(), AccessEvent.purpose, AccessEvent.actor)
        .limit(MAX_LOOKUP_ROWS)
    )
    pattern = _issuer_pattern(scope)
    if pattern is not None:
        statement = statement.where(AccessEvent.returned_json.like(pattern))
    with context.database.begin() as session:
        return tuple(
            LookupCount(purpose, actor, int(yes or 0), int(no or 0))
            for purpose, actor, yes, no in session.execute(statement)
        )


__all__ = [
    "IssuedTable",
    "LookupCount",
    "Month",
    "Scope",
    "TypeCounts",
    "VerdictCount",
    "issued_by_type_and_month",
    "last_months",
    "lookups_by_purpose_and_client",
    "verifications_by_verdict",
]
