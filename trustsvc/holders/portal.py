"""A signed-in holder (持证人) and what they may do: see and download their own licenses,
make presentation codes for them, and read everything done with their data.

A holder is known by the library's keyed digest of their ID, which is all a
session keeps; ownership of a license is that digest matching its record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select

from trustsvc.audit.access_reading import DEFAULT_PAGE_SIZE, AccessPage, Section, access_page
from trustsvc.db import Database
from trustsvc.db.models import LicenseRecord, Presentation
from trustsvc.errors import ForbiddenError
from trustsvc.holders.presentation import PresentationCode, present
from trustsvc.licenses import library
from trustsvc.licenses.holders import mask_holder_id, validate_holder_id
from trustsvc.licenses.reading import LicenseReader
from trustsvc.licenses.requests import LicenseView
from trustsvc.pki.data_key import DataKey
from trustsvc.services import Services
from trustsvc.sharing.clients import Client, active_verifiers
from trustsvc.text import clean_name
from trustsvc.tokens.decoding import try_parse_token


@dataclass(frozen=True)
class Holder:
    id_type: str
    #: The library's keyed digest of the holder's ID (never the ID itself).
    digest: str
    id_masked: str
    name: str | None
    #: How they signed in: "oidc" or "development".
    via: str


def identify(data_key: DataKey, id_type: str, id_number: str, name: str | None, via: str) -> Holder:
    """The holder behind a checked identity (from the identity provider, or development)."""
    normalised = validate_holder_id(id_type, id_number)
    return Holder(
        id_type=id_type,
        digest=data_key.digest(id_type, normalised),
        id_masked=mask_holder_id(id_type, normalised),
        name=clean_name(name, "the holder's name") if name and name.strip() else None,
        via=via,
    )


def licenses_of(licenses: LicenseReader, holder: Holder) -> list[LicenseView]:
    """Every license issued to the holder, newest first, whatever its status."""
    return licenses.search(library.LicenseQuery(holder_id_digest=holder.digest, limit=500))


def own_license(
    database: Database, licenses: LicenseReader, holder: Holder, identifier: str
) -> LicenseView:
    """One of the holder's licenses; another's is refused."""
    with database.begin() as session:
        record = library.find(session, identifier.strip().upper())
        if record.holder_id_digest != holder.digest:
            raise ForbiddenError(f"license {record.identifier} is not yours")
        return licenses.view(record, session=session)


def present_own(
    services: Services,
    licenses: LicenseReader,
    holder: Holder,
    identifier: str,
    *,
    lifetime: timedelta | None,
    single_use: bool,
    purpose: str | None,
    intended_verifier: str | None,
) -> PresentationCode:
    view = own_license(services.database, licenses, holder, identifier)
    return present(
        services,
        view.identifier,
        actor=f"holder {holder.id_masked}",
        lifetime=lifetime,
        single_use=single_use,
        purpose=purpose,
        intended_verifier=intended_verifier,
    )


def access_record(
    services: Services,
    holder: Holder,
    section: Section | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_PAGE_SIZE,
) -> AccessPage:
    """One page of what was done with the holder's data: uses, or refused attempts."""
    return access_page(services, holder.digest, section, cursor, limit)


def code_spent(database: Database, holder: Holder, token: str) -> bool:
    """Whether a single-use presentation code of the holder's has been used up.

    The wallet asks it of the code it shows, so as not to show a spent one as
    if it could still be scanned. A token that is not a presentation code of
    one of the holder's licenses is not "spent": it is simply not theirs.
    """
    parsed = try_parse_token(token)
    nonce = parsed.claims.nonce if parsed is not None else None
    if nonce is None:
        return False
    with database.begin() as session:
        row = session.execute(
            select(Presentation.single_use, Presentation.used_at)
            .join(LicenseRecord, Presentation.license_id == LicenseRecord.id)
            .where(
                Presentation.nonce == nonce.hex(),
                LicenseRecord.holder_id_digest == holder.digest,
            )
        ).first()
    return row is not None and bool(row.single_use) and row.used_at is not None


def verifiers_to_name(services: Services) -> list[Client]:
    """The verifiers a holder may name on a presentation code, with their purposes."""
    return active_verifiers(services)


__all__ = [
    "Holder",
    "access_record",
    "code_spent",
    "identify",
    "licenses_of",
    "own_license",
    "present_own",
    "verifiers_to_name",
]
