"""The access record, read: a holder's two sections, paged; an auditor's and a desk's view.

A holder's view merges the access rows with the checks of their presentation
codes, which the verifier records itself. The holder reads it in two
sections, each paged by an opaque cursor (a position in the order newest
first, so rows committed meanwhile neither repeat nor shift a page): the uses
of their data, answered, and the refused attempts, where repeated refusals of
one client for one reason are one line ("refused N times between T1 and T2").
A flood of refusals therefore never hides a use.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.audit.access_record import AccessAction, Outcome
from trustsvc.db import Context
from trustsvc.db.models import AccessEvent, LicenseRecord, VerificationEvent
from trustsvc.errors import InvalidInputError


@dataclass(frozen=True)
class AccessEntry:
    """One line of an access record, as a holder or an auditor reads it."""

    at: datetime
    actor: str
    actor_department: str | None
    action: str
    purpose: str | None
    outcome: str
    refusal: str | None
    licenses: tuple[str, ...]
    answer: str | None
    #: How many rows this line stands for: repeated refusals are one line.
    count: int = 1
    #: The earliest of them (``at`` is the latest); None for a line of one row.
    first_at: datetime | None = None
    #: The public id of the holder's grant (授权) the use was made under, if any.
    grant_id: str | None = None
    #: The log index of the line's row (of its latest row, for repeated refusals);
    #: None for a row recorded before the log.
    log_index: int | None = None


def _entry(event: AccessEvent) -> AccessEntry:
    return AccessEntry(
        at=event.at,
        actor=event.actor,
        actor_department=event.actor_department,
        action=event.action,
        purpose=event.purpose,
        outcome=event.outcome,
        refusal=event.refusal,
        licenses=tuple(json.loads(event.returned_json)),
        answer=event.answer,
        grant_id=event.grant_id,
        log_index=event.log_index,
    )


class Section(StrEnum):
    """The two parts of a holder's record."""

    USES = "uses"
    REFUSED = "refused"


#: Lines on one page unless fewer are asked for, and at most.
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
#: Refusals of one client, for one action, purpose and reason, each at most this long
#: after the one before, are one line.
COLLAPSE_WINDOW = timedelta(minutes=10)
#: Refused rows read for one page at most: a line cut here continues on the next page.
MAX_SCAN = 2000
_MAX_CURSOR_LENGTH = 96
_CURSOR = re.compile(r"(uses|refused):([0-9]{1,19}|-):([0-9]{1,19}|-)")
_CURSOR_ERROR = "the cursor is not one this service gave"


@dataclass(frozen=True)
class AccessPage:
    section: Section
    entries: tuple[AccessEntry, ...]
    #: Give it back for the next page; None on the last one.
    next_cursor: str | None


@dataclass(frozen=True)
class _Position:
    """Where a page ends in each of the two streams a record is read from, newest first.

    Rows are taken in the order of their ids (the order they were written),
    so a bound per stream is exact: what was shown is below none of them and
    what was not is below both. None: nothing of that stream is behind yet.
    """

    access_below: int | None = None
    check_below: int | None = None


def _encode(section: Section, position: _Position) -> str:
    def bound(value: int | None) -> str:
        return "-" if value is None else str(value)

    text = f"{section.value}:{bound(position.access_below)}:{bound(position.check_below)}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _decode(cursor: str) -> tuple[Section, _Position]:
    """A cursor as given back: bounded and exactly the shape ``_encode`` makes."""
    if len(cursor) > _MAX_CURSOR_LENGTH:
        raise InvalidInputError(_CURSOR_ERROR)
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("ascii")
    except (binascii.Error, ValueError):
        raise InvalidInputError(_CURSOR_ERROR) from None
    match = _CURSOR.fullmatch(text)
    if match is None:
        raise InvalidInputError(_CURSOR_ERROR)
    section, access, check = match.groups()
    bounds = [None if v == "-" else int(v) for v in (access, check)]
    if any(b is not None and b > 2**63 for b in bounds):
        raise InvalidInputError(_CURSOR_ERROR)
    return Section(section), _Position(bounds[0], bounds[1])


def access_page(
    services: Context,
    holder_id_digest: str,
    section: Section | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> AccessPage:
    """One page of a holder's record, newest first: uses, or refused attempts.

    With a cursor, the section is the cursor's (naming another is refused).
    """
    position = _Position()
    if cursor:
        cursor_section, position = _decode(cursor)
        if section is not None and section is not cursor_section:
            raise InvalidInputError(f"the cursor is for the {cursor_section.value} section")
        section = cursor_section
    section = section or Section.USES
    if not 1 <= limit <= MAX_PAGE_SIZE:
        raise InvalidInputError(f"a page has 1 to {MAX_PAGE_SIZE} lines")
    with services.database.begin() as session:
        if section is Section.USES:
            return _uses(session, holder_id_digest, position, limit)
        return _refusals(session, holder_id_digest, position, limit)


def _access_rows(
    session: Session, digest: str, outcome: Outcome, below: int | None, limit: int
) -> Sequence[AccessEvent]:
    statement = select(AccessEvent).where(
        AccessEvent.holder_id_digest == digest, AccessEvent.outcome == outcome.value
    )
    if below is not None:
        statement = statement.where(AccessEvent.id < below)
    return session.scalars(statement.order_by(AccessEvent.id.desc()).limit(limit)).all()


def _check_entry(check: VerificationEvent, identifier: str) -> AccessEntry:
    return AccessEntry(
        at=check.checked_at,
        actor=check.checked_by,
        actor_department=None,
        action=AccessAction.PRESENTATION_CHECK.value,
        purpose=check.purpose,
        outcome=Outcome.ANSWERED.value,
        refusal=None,
        licenses=(identifier,),
        answer=check.verdict,
        log_index=check.log_index,
    )


def _uses(session: Session, digest: str, position: _Position, limit: int) -> AccessPage:
    events = list(_access_rows(session, digest, Outcome.ANSWERED, position.access_below, limit + 1))
    statement = (
        select(VerificationEvent, LicenseRecord.identifier)
        .join(LicenseRecord, VerificationEvent.license_id == LicenseRecord.id)
        .where(LicenseRecord.holder_id_digest == digest)
    )
    if position.check_below is not None:
        statement = statement.where(VerificationEvent.id < position.check_below)
    checks = list(
        session.execute(statement.order_by(VerificationEvent.id.desc()).limit(limit + 1)).all()
    )
    # Merge the two streams by time, each taken in its own order, so that what a page
    # takes of each is a run of it and one bound per stream says where the next begins.
    entries: list[AccessEntry] = []
    access_below, check_below = position.access_below, position.check_below
    a = c = 0
    while len(entries) < limit and (a < len(events) or c < len(checks)):
        take_access = c >= len(checks) or (
            a < len(events) and events[a].at >= checks[c][0].checked_at
        )
        if take_access:
            entries.append(_entry(events[a]))
            access_below = events[a].id
            a += 1
        else:
            check, identifier = checks[c]
            entries.append(_check_entry(check, identifier))
            check_below = check.id
            c += 1
    more = a < len(events) or c < len(checks)
    if more and check_below is None and checks:
        check_below = checks[0][0].id + 1  # none taken yet: start the next page at its head
    if more and access_below is None and events:
        access_below = events[0].id + 1
    return AccessPage(
        Section.USES,
        tuple(entries),
        _encode(Section.USES, _Position(access_below, check_below)) if more else None,
    )


def _refusals(session: Session, digest: str, position: _Position, limit: int) -> AccessPage:
    rows = _access_rows(session, digest, Outcome.REFUSED, position.access_below, MAX_SCAN + 1)
    # Lines in the order of their latest row; a row joins the line of its key if it is
    # within the window of that line's earliest row. The page ends before the first
    # row that would open one line too many (or after MAX_SCAN rows), so what a page
    # shows is a run of rows and the next page begins where it ends.
    lines: list[AccessEntry] = []
    open_lines: dict[tuple[Any, ...], int] = {}
    below: int | None = None
    for event in rows[:MAX_SCAN]:
        key = (
            event.client_id,
            event.actor,
            event.action,
            event.purpose,
            event.refusal,
            event.grant_id,
        )
        index = open_lines.get(key)
        if index is not None:
            line = lines[index]
            if (line.first_at or line.at) - event.at <= COLLAPSE_WINDOW:
                lines[index] = replace(line, count=line.count + 1, first_at=event.at)
                below = event.id
                continue
        if len(lines) == limit:
            break
        open_lines[key] = len(lines)
        lines.append(_entry(event))
        below = event.id
    else:
        if len(rows) <= MAX_SCAN:
            below = None  # every row read: nothing after this page
    return AccessPage(
        Section.REFUSED,
        tuple(lines),
        _encode(Section.REFUSED, _Position(below, None)) if below is not None else None,
    )


def access_events(
    services: Context, client_name: str | None = None, limit: int = 100, offset: int = 0
) -> list[AccessEntry]:
    """The whole access record, newest first, for an auditor."""
    statement = select(AccessEvent).order_by(AccessEvent.id.desc()).limit(limit).offset(offset)
    if client_name is not None:
        statement = statement.where(AccessEvent.actor == client_name)
    with services.database.begin() as session:
        return [_entry(e) for e in session.scalars(statement)]


def checks_by(services: Context, client_id: int, client_name: str, limit: int) -> list[AccessEntry]:
    """One client's latest uses, newest first: its rows of the access record (by the client's
    index) and the presentation checks it passed (recorded as checks, by checker name)."""
    with services.database.begin() as session:
        events = session.scalars(
            select(AccessEvent)
            .where(AccessEvent.client_id == client_id)
            .order_by(AccessEvent.id.desc())
            .limit(limit)
        ).all()
        checks = session.execute(
            select(VerificationEvent, LicenseRecord.identifier)
            .join(LicenseRecord, VerificationEvent.license_id == LicenseRecord.id)
            .where(VerificationEvent.checked_by == client_name)
            .order_by(VerificationEvent.id.desc())
            .limit(limit)
        ).all()
        entries = [_entry(e) for e in events]
        entries += [_check_entry(check, identifier) for check, identifier in checks]
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries[:limit]


__all__ = [
    "COLLAPSE_WINDOW",
    "DEFAULT_PAGE_SIZE",
    "MAX_PAGE_SIZE",
    "AccessEntry",
    "AccessPage",
    "Section",
    "access_events",
    "access_page",
    "checks_by",
]
