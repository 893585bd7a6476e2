"""Staff users: added, listed and disabled by an operator; found at sign-in by subject.

Roles and departments are the service's, not the identity provider's: a
provider says who signed in (its ``sub``), this record says what they may do.
A clerk, an officer and the operator administrator each act through an API
client of the matching role (verifier with the window's purposes, issuer of the
department, admin), made in the same transaction as the user and revoked with
it; that client has no key, so it works only behind the pages. The pages pass
it to the same domain functions the API routes call, so a page can never do
more than the API role it stands for.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trustsvc.audit.operators import Operator, OperatorAction, record_operation
from trustsvc.db.models import ApiClient, ClientRole, Department, StaffRole, StaffUser
from trustsvc.errors import AuthenticationError, ConflictError, InvalidInputError, NotFoundError
from trustsvc.services import Services
from trustsvc.sharing.clients import Client, clean_purposes, client_of
from trustsvc.sharing.purposes import require_known
from trustsvc.text import clean_name

__all__ = [
    "ROLE_WORDS",
    "StaffMember",
    "StaffRole",
    "add_user",
    "disable_user",
    "find_user",
    "list_users",
    "staff_client_names",
]

#: The API role each staff role acts under; roles absent here act under none.
ACTING_ROLE = {
    StaffRole.CLERK: ClientRole.VERIFIER,
    StaffRole.OFFICER: ClientRole.ISSUER,
    StaffRole.OPERATOR_ADMIN: ClientRole.ADMIN,
}
#: Each role in words for people (zh, en): pages and records name roles by these.
ROLE_WORDS: dict[StaffRole, tuple[str, str]] = {
    StaffRole.CLERK: ("窗口人员", "Window clerk"),
    StaffRole.OFFICER: ("经办人员", "Officer"),
    StaffRole.DEPARTMENT_ADMIN: ("部门管理员", "Department administrator"),
    StaffRole.AUDITOR: ("审计人员", "Auditor"),
    StaffRole.OPERATOR_ADMIN: ("运营管理员", "Operator administrator"),
}
#: Roles that belong to one department.
DEPARTMENT_ROLES = frozenset({StaffRole.OFFICER, StaffRole.DEPARTMENT_ADMIN})
#: The prefix of the API clients staff users act through (never a key of their own).
CLIENT_PREFIX = "staff:"
_MAX_SUBJECT = 180  # the client's name is the prefix and the subject, within 200


@dataclass(frozen=True)
class StaffMember:
    """A member of staff as the pages see them."""

    id: int
    subject: str
    name: str
    role: StaffRole
    department_code: str | None
    department_name: str | None
    hall: str | None
    window: str | None
    #: The purposes a clerk's window may state (用证事由); empty for other roles.
    purposes: tuple[str, ...]
    #: The API client this user acts as (clerk, officer, operator admin), else None.
    client: Client | None
    created_at: datetime
    disabled_at: datetime | None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    @property
    def place(self) -> str:
        """Where a clerk works, as notes and records name it: "hall · window"."""
        return " · ".join(part for part in (self.hall, self.window) if part)


def _member(row: StaffUser) -> StaffMember:
    client = client_of(row.client) if row.client is not None else None
    department = row.department
    return StaffMember(
        id=row.id,
        subject=row.subject,
        name=row.name,
        role=row.role,
        department_code=department.code if department else None,
        department_name=department.name if department else None,
        hall=row.hall,
        window=row.window,
        purposes=client.purposes if client is not None else (),
        client=client,
        created_at=row.created_at,
        disabled_at=row.disabled_at,
    )


def _subject(subject: str) -> str:
    cleaned = clean_name(subject, "a subject", _MAX_SUBJECT)
    if any(character.isspace() for character in cleaned):
        raise InvalidInputError("a subject has no spaces (it is the identity provider's sub)")
    return cleaned


def _checked(
    role: StaffRole,
    department_code: str | None,
    hall: str | None,
    window: str | None,
    purposes: Sequence[str],
) -> list[str]:
    cleaned = clean_purposes(purposes)
    if role in DEPARTMENT_ROLES and department_code is None:
        raise InvalidInputError(f"a {role.value} belongs to one department: name it")
    if role is StaffRole.CLERK:
        if not window:
            raise InvalidInputError("a clerk works at a window: name it (--window)")
        if not cleaned:
            raise InvalidInputError("a clerk's window needs at least one purpose it may state")
    elif cleaned or hall or window:
        raise InvalidInputError("only clerks have a hall, a window and purposes")
    return cleaned


def add_user(
    services: Services,
    subject: str,
    name: str,
    role: StaffRole | str,
    *,
    department_code: str | None = None,
    hall: str | None = None,
    window: str | None = None,
    purposes: Sequence[str] = (),
    operator: Operator | None = None,
) -> StaffMember:
    """Add a member of staff (and the API client they act through), recorded as an operation."""
    try:
        role = StaffRole(role)
    except ValueError:
        raise InvalidInputError(
            f"unknown role {role!r}; roles are {', '.join(r.value for r in StaffRole)}"
        ) from None
    subject = _subject(subject)
    name = clean_name(name, "a name", 200)
    hall = clean_name(hall, "a hall", 200) if hall else None
    window = clean_name(window, "a window", 200) if window else None
    cleaned = _checked(role, department_code, hall, window, purposes)
    now = services.clock.now()
    try:
        with services.database.begin() as session:
            require_known(session, cleaned)
            department = _department(session, department_code)
            client = None
            acting = ACTING_ROLE.get(role)
            if acting is not None:
                client = ApiClient(
                    name=f"{CLIENT_PREFIX}{subject}",
                    role=acting,
                    department=department if acting is ClientRole.ISSUER else None,
                    purposes_json=json.dumps(cleaned, ensure_ascii=False),
                    created_at=now,
                )
                session.add(client)
            row = StaffUser(
                subject=subject,
                name=name,
                role=role,
                department=department,
                hall=hall,
                window=window,
                client=client,
                created_at=now,
            )
            session.add(row)
            session.flush()
            member = _member(row)
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.USER_ADD,
                subject,
                now,
                {
                    "name": name,
                    "role": role.value,
                    "department": member.department_code,
                    "hall": hall,
                    "window": window,
                    "purposes": cleaned,
                },
            )
    except IntegrityError as exc:
        raise ConflictError(f"a staff user with subject {subject!r} already exists") from exc
    return member


def _department(session: Session, code: str | None) -> Department | None:
    if code is None:
        return None
    department = session.scalar(select(Department).where(Department.code == code.strip().upper()))
    if department is None:
        raise NotFoundError(f"no department with credit code {code}")
    return department


def _row(session: Session, subject: str) -> StaffUser | None:
    return session.scalar(select(StaffUser).where(StaffUser.subject == subject))


def list_users(services: Services, department_code: str | None = None) -> list[StaffMember]:
    """Every member of staff (of one department when given), oldest first."""
    with services.database.begin() as session:
        query = select(StaffUser).order_by(StaffUser.id)
        if department_code is not None:
            query = query.join(StaffUser.department).where(
                Department.code == department_code.strip().upper()
            )
        return [_member(row) for row in session.scalars(query)]


def disable_user(services: Services, subject: str, operator: Operator | None = None) -> StaffMember:
    """Disable a member of staff: their next request is refused, and their client revoked."""
    now = services.clock.now()
    with services.database.begin() as session:
        row = _row(session, subject)
        if row is None:
            raise NotFoundError(f"no staff user with subject {subject!r}")
        if row.disabled_at is None:
            row.disabled_at = now
            if row.client is not None and row.client.revoked_at is None:
                row.client.revoked_at = now
            record_operation(
                session,
                operator or Operator.local(),
                OperatorAction.USER_DISABLE,
                subject,
                now,
                {"role": row.role.value},
            )
        session.flush()
        return _member(row)


#: What a staff client is called when its member of staff is no longer known.
UNKNOWN_STAFF = "服务窗口"
#: Names looked up at once, at most (a page of a record and its verifier list).
_MAX_NAMED = 500


def staff_client_names(services: Services, client_names: Iterable[str]) -> dict[str, str]:
    """The staff clients (``staff:<subject>``) among ``client_names``, as a holder may read
    them: a clerk's service hall and window, another member's department; never the subject,
    which is the identity provider's account and no business of the holder's."""
    subjects = {
        name: name.removeprefix(CLIENT_PREFIX)
        for name in list(client_names)[:_MAX_NAMED]
        if isinstance(name, str) and name.startswith(CLIENT_PREFIX)
    }
    if not subjects:
        return {}
    with services.database.begin() as session:
        rows = session.scalars(
            select(StaffUser).where(StaffUser.subject.in_(set(subjects.values())))
        ).all()
        members = {row.subject: _member(row) for row in rows}
    named: dict[str, str] = {}
    for name, subject in subjects.items():
        member = members.get(subject)
        if member is None:
            named[name] = UNKNOWN_STAFF
        elif member.hall or member.window:
            named[name] = " · ".join(part for part in (member.hall, member.window) if part)
        else:
            named[name] = member.department_name or UNKNOWN_STAFF
    return named


def find_user(services: Services, subject: str) -> StaffMember:
    """The active member of staff with this subject, or AuthenticationError."""
    with services.database.begin() as session:
        row = _row(session, subject) if isinstance(subject, str) else None
        if row is None or row.disabled_at is not None:
            raise AuthenticationError(
                "this account is not a member of staff of this service, or has been disabled"
            )
        return _member(row)
