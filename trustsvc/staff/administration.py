"""What an administrator may do on the administration pages, and the calls that do it.

The operator administrator keeps the whole service; a department administrator
keeps one department: its seals and its own staff, nothing else. Every action
calls the same function the command line calls (``departments.registry``,
``sharing.clients``, ``sharing.purposes``, ``staff.users``), so it is checked
and recorded in the operator record exactly as there, with the member of staff
as the operator (``staff:<subject>``, from ``page:<address>``).

Two limits of the admin API hold here too: an admin client is made, and another
admin client's key rotated, on the command line only. And the clients staff
act through (``staff:…``, without a key) are kept with their users: a page
never lists, rotates or revokes them as API clients, since a rotated key would
turn a clerk's page-only client into one usable over the API.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from trustsvc.audit.access_reading import AccessEntry, access_events
from trustsvc.audit.operators import Operator, OperatorAction, OperatorEntry, operator_events
from trustsvc.db.models import ClientRole
from trustsvc.departments.info import DepartmentInfo, SealInfo
from trustsvc.departments.registry import add_department, get_department, list_departments, set_kind
from trustsvc.departments.seals import import_seal, new_seal, revoke_seal
from trustsvc.errors import CommandLineOnlyError, ForbiddenError, InvalidInputError
from trustsvc.licenses.entitlement import (
    EntitlementChange,
    TypeStanding,
    set_entitlement,
    standings,
)
from trustsvc.pki.revocation import REASONS
from trustsvc.services import Services
from trustsvc.sharing.clients import (
    ClientInfo,
    IssuedKey,
    add_client,
    get_client,
    list_clients,
    revoke_client,
    rotate_key,
)
from trustsvc.sharing.purposes import Purpose, add_purpose, list_purposes, remove_purpose
from trustsvc.staff.users import (
    CLIENT_PREFIX,
    StaffMember,
    StaffRole,
    add_user,
    disable_user,
    list_users,
)

#: Who may open the administration pages at all.
ADMINISTRATORS = (StaffRole.OPERATOR_ADMIN, StaffRole.DEPARTMENT_ADMIN)
#: Who may read the operator record.
RECORD_READERS = (StaffRole.OPERATOR_ADMIN, StaffRole.AUDITOR)
#: The roles a department administrator may give, within their department.
DEPARTMENT_STAFF_ROLES = (StaffRole.OFFICER, StaffRole.DEPARTMENT_ADMIN)
#: Revocation reasons for a seal (a seal certificate is not a CA's), RFC 5280 spelling.
SEAL_REASONS = tuple(name for name in REASONS if name != "ca_compromise")
#: The most entries of a record one page shows, and the deepest page of the access record.
RECORD_PAGE = 50
MAX_PAGES = 10_000


@dataclass(frozen=True)
class Acting:
    """A member of staff acting on the administration pages, and from where."""

    member: StaffMember
    address: str | None

    @property
    def operator(self) -> Operator:
        return Operator(
            f"{CLIENT_PREFIX}{self.member.subject}", f"page:{self.address or 'unknown'}"
        )

    @property
    def is_operator(self) -> bool:
        return self.member.role is StaffRole.OPERATOR_ADMIN

    def require(self, *roles: StaffRole) -> None:
        if self.member.role not in roles:
            raise ForbiddenError(
                f"this is for {', '.join(r.value for r in roles)}; "
                f"you are signed in as {self.member.role.value}"
            )

    def require_department(self, code: str) -> None:
        """The operator administrator keeps every department; a department's, its own only."""
        self.require(*ADMINISTRATORS)
        if not self.is_operator and code.strip().upper() != self.member.department_code:
            raise ForbiddenError("a department administrator keeps their own department only")


# ---- departments and seals -----------------------------------------------------------


def departments(services: Services, acting: Acting) -> list[DepartmentInfo]:
    acting.require(*ADMINISTRATORS)
    if acting.is_operator:
        return list_departments(services)
    assert acting.member.department_code is not None  # a department role has one
    return [get_department(services, acting.member.department_code)]


def department(services: Services, acting: Acting, code: str) -> DepartmentInfo:
    acting.require_department(code)
    return get_department(services, code)


def register_department(
    services: Services,
    acting: Acting,
    name: str,
    code: str,
    region_code: str | None,
    kind: str | None,
) -> DepartmentInfo:
    acting.require(StaffRole.OPERATOR_ADMIN)
    return add_department(
        services, name, code, region_code or None, operator=acting.operator, kind=kind or None
    )


def renew_seal(services: Services, acting: Acting, code: str) -> DepartmentInfo:
    """A further seal certificate for the department (before expiry, or after a revocation)."""
    acting.require_department(code)
    return new_seal(services, code, acting.operator)


def withdraw_seal(
    services: Services,
    acting: Acting,
    code: str,
    serial_hex: str,
    reason: str,
    invalid_since: datetime | None = None,
) -> list[SealInfo]:
    """Revoke one seal certificate; ``invalid_since`` (key compromise only) keeps valid
    what the key sealed before it, as ``trustsvc department revoke-seal --invalid-since``."""
    acting.require_department(code)
    if reason not in SEAL_REASONS:
        raise InvalidInputError(f"unknown reason {reason!r} for revoking a seal")
    return revoke_seal(
        services, code, reason, serial_hex, invalid_since=invalid_since, operator=acting.operator
    )


def take_seal(
    services: Services, acting: Acting, code: str, pkcs12_data: bytes, password: bytes | None
) -> DepartmentInfo:
    """A seal certificate and key from an outside CA (PKCS#12), as
    ``trustsvc department import-seal``: like a renewal, the department's own business."""
    acting.require_department(code)
    return import_seal(services, code, pkcs12_data, password, acting.operator)


def change_kind(services: Services, acting: Acting, code: str, kind: str | None) -> DepartmentInfo:
    """Set or clear a department's kind. The kind decides which types it may issue, so a
    department administrator may not change their own: the operator administrator only."""
    acting.require(StaffRole.OPERATOR_ADMIN)
    return set_kind(services, code, kind or None, acting.operator)


def type_standings(services: Services, acting: Acting, code: str) -> list[TypeStanding]:
    """What the department may issue now; its own administrator may read it."""
    acting.require_department(code)
    return standings(services, code)


def decide_type(
    services: Services,
    acting: Acting,
    code: str,
    type_key: str,
    *,
    allowed: bool,
    reason: str | None,
) -> EntitlementChange:
    """Grant or deny a department a license type from now on (operator administrator only,
    as ``trustsvc department allow-type`` / ``deny-type``)."""
    acting.require(StaffRole.OPERATOR_ADMIN)
    return set_entitlement(
        services, code, type_key, allowed=allowed, reason=reason, operator=acting.operator
    )


# ---- staff users ---------------------------------------------------------------------


def staff(services: Services, acting: Acting) -> list[StaffMember]:
    acting.require(*ADMINISTRATORS)
    if acting.is_operator:
        return list_users(services)
    return list_users(services, acting.member.department_code)


def add_staff(
    services: Services,
    acting: Acting,
    subject: str,
    name: str,
    role: str,
    *,
    department_code: str | None,
    hall: str | None,
    window: str | None,
    purposes: Sequence[str],
) -> StaffMember:
    acting.require(*ADMINISTRATORS)
    if not acting.is_operator:
        if role not in {r.value for r in DEPARTMENT_STAFF_ROLES}:
            raise ForbiddenError("a department administrator adds officers and administrators")
        department_code = acting.member.department_code
    return add_user(
        services,
        subject,
        name,
        role,
        department_code=department_code or None,
        hall=hall or None,
        window=window or None,
        purposes=purposes,
        operator=acting.operator,
    )


def disable_staff(services: Services, acting: Acting, subject: str) -> StaffMember:
    acting.require(*ADMINISTRATORS)
    if subject == acting.member.subject:
        raise ForbiddenError("you cannot disable your own account; ask another administrator")
    if not acting.is_operator:
        mine = {m.subject: m for m in list_users(services, acting.member.department_code)}
        if subject not in mine or mine[subject].role not in DEPARTMENT_STAFF_ROLES:
            raise ForbiddenError("a department administrator keeps their own department's staff")
    return disable_user(services, subject, acting.operator)


# ---- API clients and purposes ----------------------------------------------------------


def clients(services: Services, acting: Acting) -> list[ClientInfo]:
    """The API clients systems call with (not the keyless clients staff act through)."""
    acting.require(StaffRole.OPERATOR_ADMIN)
    return [c for c in list_clients(services) if not c.client.name.startswith(CLIENT_PREFIX)]


def _api_client(services: Services, name: str) -> ClientInfo:
    info = get_client(services, name)
    if info.client.name.startswith(CLIENT_PREFIX):
        raise ForbiddenError("this client belongs to a member of staff: disable the user instead")
    return info


def make_client(
    services: Services,
    acting: Acting,
    name: str,
    role: str,
    *,
    department_code: str | None,
    purposes: Sequence[str],
    rate_limit_per_minute: int | None,
) -> tuple[ClientInfo, IssuedKey]:
    acting.require(StaffRole.OPERATOR_ADMIN)
    if role == ClientRole.ADMIN.value:
        raise CommandLineOnlyError(
            "an admin client is made on the command line only (trustsvc client add --role admin)"
        )
    if name.strip().startswith(CLIENT_PREFIX):
        raise InvalidInputError(f"client names starting {CLIENT_PREFIX!r} are kept for staff")
    return add_client(
        services,
        name,
        role,
        department_code=department_code or None,
        purposes=purposes,
        rate_limit_per_minute=rate_limit_per_minute,
        operator=acting.operator,
    )


def revoke_api_client(services: Services, acting: Acting, name: str) -> ClientInfo:
    acting.require(StaffRole.OPERATOR_ADMIN)
    _api_client(services, name)
    return revoke_client(services, name, acting.operator)


def rotate_api_key(
    services: Services, acting: Acting, name: str, grace: timedelta
) -> tuple[ClientInfo, IssuedKey]:
    acting.require(StaffRole.OPERATOR_ADMIN)
    if _api_client(services, name).client.role is ClientRole.ADMIN:
        raise CommandLineOnlyError(
            "an admin client's key is rotated on the command line only (trustsvc client rotate)"
        )
    key = rotate_key(services, name, grace, acting.operator)
    return get_client(services, name), key


def purposes(services: Services, acting: Acting) -> list[Purpose]:
    acting.require(StaffRole.OPERATOR_ADMIN)
    return list_purposes(services)


def add_catalogue_purpose(
    services: Services, acting: Acting, name: str, type_keys: Sequence[str]
) -> Purpose:
    acting.require(StaffRole.OPERATOR_ADMIN)
    return add_purpose(services, name, type_keys, acting.operator)


def remove_catalogue_purpose(services: Services, acting: Acting, name: str) -> Purpose:
    acting.require(StaffRole.OPERATOR_ADMIN)
    return remove_purpose(services, name, acting.operator)


# ---- the operator record -------------------------------------------------------------


def access_record(
    services: Services, acting: Acting, *, client: str | None = None, page: int = 0
) -> list[AccessEntry]:
    """A page of the access record (every use of holders' data), newest first."""
    acting.require(*RECORD_READERS)
    if not 0 <= page <= MAX_PAGES:
        raise InvalidInputError(f"a page of the record is 0 to {MAX_PAGES}")
    return access_events(services, client or None, RECORD_PAGE, page * RECORD_PAGE)


def record(
    services: Services,
    acting: Acting,
    *,
    before: int | None = None,
    action: OperatorAction | None = None,
) -> list[OperatorEntry]:
    """A page of the operator record, newest first (operator administrators and auditors)."""
    acting.require(*RECORD_READERS)
    return operator_events(services, limit=RECORD_PAGE, before=before, action=action)


__all__ = [
    "ADMINISTRATORS",
    "RECORD_READERS",
    "SEAL_REASONS",
    "Acting",
    "access_record",
    "add_catalogue_purpose",
    "add_staff",
    "clients",
    "department",
    "departments",
    "disable_staff",
    "make_client",
    "purposes",
    "record",
    "register_department",
    "remove_catalogue_purpose",
    "renew_seal",
    "revoke_api_client",
    "rotate_api_key",
    "staff",
    "withdraw_seal",
]
