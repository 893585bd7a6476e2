"""The clerk's verification desk (窗口核验台): what a clerk may do beyond the API's verifier role.

A clerk acts as its own verifier client (``StaffMember.client``: the window's
purposes, no key), so checking a PDF or a token goes through exactly the API's
verifier functions and records. What the desk adds is small, and held to the
same rules:

- a license named by its printed number (证照编号) or identifier: its status in
  the library, as the public status route answers anyone, recorded with the
  purpose the clerk stated;
- the purpose-annotated copy (加注件, ``verification.annotated_copy``) of a
  license the citizen showed (its PDF, or its QR code) and that is valid now,
  for a purpose that may see its type (the catalogue's rule for lookups), the
  note naming the clerk's window; made from the library's own copy of the
  sealed license, and recorded;
- the clerk's own recent checks, from the access record.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from trustsvc.audit.access_reading import AccessEntry, checks_by
from trustsvc.db import Database
from trustsvc.errors import ForbiddenError, InvalidInputError, PurposeRefusedError
from trustsvc.licenses import library
from trustsvc.licenses.reading import LicenseReader
from trustsvc.services import Services
from trustsvc.sharing.clients import Client
from trustsvc.sharing.purposes import types_of
from trustsvc.staff.users import StaffMember
from trustsvc.verification.annotated_copy import AnnotatedCopies, PurposeNote
from trustsvc.verification.report import VerificationReport
from trustsvc.verification.verifier import Verifier

#: The clerk's checks listed on the desk, newest first.
RECENT_CHECKS = 20


def desk_client(member: StaffMember) -> Client:
    """The verifier client a clerk acts as; refused for anyone without one."""
    if member.client is None or not member.purposes:
        raise ForbiddenError("only a clerk of a window with purposes works at the desk")
    return member.client


def stated(member: StaffMember, purpose: str | None) -> str:
    """The purpose the clerk states: required, and one of the window's."""
    given = (purpose or "").strip()
    if not given:
        raise InvalidInputError("请选择用证事由 · Choose the purpose of this check")
    if given not in member.purposes:
        raise PurposeRefusedError(
            f"此窗口不能以“{given}”为由核验 · This window may not state that purpose"
        )
    return given


def identifier_of(licenses: LicenseReader, key: str) -> str:
    """The identifier a printed number (or an identifier) names, across all departments."""
    return licenses.identifier_of(key)


def status_by_number(verifier: Verifier, licenses: LicenseReader, key: str) -> VerificationReport:
    """The library's word on the license ``key`` names (number or identifier)."""
    return verifier.status_of(identifier_of(licenses, key))


def make_copy(
    database: Database,
    licenses: LicenseReader,
    copies: AnnotatedCopies,
    verifier: Verifier,
    member: StaffMember,
    identifier: str,
    purpose: str,
    now: datetime,
    operator: str,
) -> bytes:
    """The 加注件 of the license ``identifier`` for ``purpose`` at the clerk's window.

    Checked again now, not taken from the check before: the license must be
    valid in the library, and the purpose one of the window's that may see
    its type. ``operator``: who adds and seals the note (``settings.organisation_name``).
    """
    purpose = stated(member, purpose)
    report = verifier.status_of(identifier)
    if not report.is_valid:
        raise InvalidInputError(
            "证照当前不是有效状态，不能制作加注件 · Only a license valid now gets an annotated copy"
        )
    with database.begin() as session:
        record = library.find(session, identifier)
        visible = types_of(session, purpose)
        type_key = record.type_key
    if visible is None or type_key not in visible:
        raise PurposeRefusedError(
            f"用证事由“{purpose}”不适用于此类证照 · That purpose may not see this license type"
        )
    note = PurposeNote(
        purpose=purpose,
        window=member.place or member.name,
        day=licenses.date_at(now),
        operator=operator,
    )
    return copies.annotate(licenses.document(identifier), note)


def recent_checks(
    services: Services, member: StaffMember, limit: int = RECENT_CHECKS
) -> Sequence[AccessEntry]:
    """What this clerk checked lately (their client's rows of the access record), newest first."""
    client = desk_client(member)
    return checks_by(services, client.id, client.name, limit)


__all__ = [
    "RECENT_CHECKS",
    "desk_client",
    "identifier_of",
    "make_copy",
    "recent_checks",
    "stated",
    "status_by_number",
]
