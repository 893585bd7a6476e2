"""One contract for the library lookup a verifier asks: the prepared-statement fast path
and the ORM answer alike, on SQLite and PostgreSQL (the ``licenses`` fixture's databases)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select

from tests.helpers import DEPARTMENT_A
from trustsvc.clock import FixedClock
from trustsvc.db.models import LicenseRecord, LicenseStatus
from trustsvc.departments.seals import active_seal, revoke_seal
from trustsvc.holders.presentation import present
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.tokens.decoding import parse_token
from trustsvc.verification.library import (
    CurrentVersion,
    DatabaseLibrary,
    Entry,
    LibraryLookup,
    OrmLibrary,
    as_utc,
)

IMPLEMENTATIONS = {"prepared": DatabaseLibrary, "orm": OrmLibrary}


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def library(
    request: pytest.FixtureRequest, services: Services, licenses: IssuingService
) -> LibraryLookup:
    services = services
    lookup: LibraryLookup = IMPLEMENTATIONS[request.param](services.database, services.revocation)
    return lookup


def _issue(licenses: IssuingService) -> str:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    return licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license.identifier


def _unknown(identifier: str) -> str:
    """The identifier with another check character: no license's."""
    return identifier[:-1] + ("0" if identifier[-1] != "0" else "1")


def _record(services: Services, identifier: str) -> LicenseRecord:
    with services.database.begin() as session:
        record = session.scalars(
            select(LicenseRecord).where(LicenseRecord.identifier == identifier)
        ).one()
        session.expunge(record)
        return record


def _seal_fingerprint(services: Services) -> str:
    certificate = active_seal(services, DEPARTMENT_A).material.certificate
    return certificate.fingerprint(hashes.SHA256()).hex()


def _same_entry(entry: Entry | None, record: LicenseRecord) -> None:
    assert entry is not None
    assert (entry.license_id, entry.identifier, entry.type_key) == (
        record.id,
        record.identifier,
        record.type_key,
    )
    assert (entry.license_number, entry.issuer_code, entry.holder_name) == (
        record.license_number,
        record.issuer_code,
        record.holder_name,
    )
    assert (entry.valid_from, entry.valid_until, entry.status) == (
        record.valid_from,
        record.valid_until,
        record.status,
    )
    assert (entry.seal_serial_hex, entry.sha256, entry.fields_json) == (
        record.seal_serial_hex,
        record.sha256,
        record.fields_json,
    )
    # The driver's form may differ (text on SQLite); the moment may not.
    assert as_utc(entry.issued_at) == as_utc(record.issued_at)


def test_a_license_is_found_by_identifier_and_by_document(
    services: Services, licenses: IssuingService, library: LibraryLookup
) -> None:
    identifier = _issue(licenses)
    record = _record(services, identifier)
    _same_entry(library.entry_by_identifier(identifier), record)
    document = licenses.document(identifier)
    _same_entry(library.entry_by_document("0" * 64, hashlib.sha256(document).hexdigest()), record)
    _same_entry(library.entry_by_document(record.signed_sha256, "0" * 64), record)
    assert library.entry_by_identifier(_unknown(identifier)) is None
    assert library.entry_by_document("0" * 64, "0" * 64) is None


def test_a_tokens_license_comes_with_its_seals_revocation(
    services: Services, licenses: IssuingService, library: LibraryLookup, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    record = _record(services, identifier)
    fingerprint = _seal_fingerprint(services)
    entry, revocation = library.token_entry(identifier, fingerprint)
    _same_entry(entry, record)
    assert revocation is None and library.seal_revocation(fingerprint) is None
    clock.advance(timedelta(minutes=1))
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    entry, revocation = library.token_entry(identifier, fingerprint)
    _same_entry(entry, record)
    assert revocation is not None and revocation.reason == "key_compromise"
    assert revocation.revoked_at == clock.now() and revocation.invalidity_date is None
    assert library.seal_revocation(fingerprint) == revocation
    # A license the library does not know: the seal's revocation alone.
    assert library.token_entry(_unknown(identifier), fingerprint) == (None, revocation)
    assert library.token_entry(_unknown(identifier), "0" * 64) == (None, None)


def test_a_documents_license_and_its_seals_revocation_are_one_question(
    services: Services, licenses: IssuingService, library: LibraryLookup, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    record = _record(services, identifier)
    fingerprint = _seal_fingerprint(services)
    entry, revocation = library.document_entry(record.signed_sha256, "0" * 64, fingerprint)
    _same_entry(entry, record)
    assert revocation is None
    clock.advance(timedelta(minutes=1))
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    entry, revocation = library.document_entry(record.signed_sha256, "0" * 64, fingerprint)
    _same_entry(entry, record)
    assert revocation is not None and revocation == library.seal_revocation(fingerprint)
    assert library.document_entry("0" * 64, "0" * 64, fingerprint) == (None, revocation)
    assert library.document_entry("0" * 64, "0" * 64, "0" * 64) == (None, None)


def test_a_superseded_license_leads_to_the_version_in_force(
    services: Services, licenses: IssuingService, library: LibraryLookup
) -> None:
    identifier = _issue(licenses)
    first = _record(services, identifier)
    second = licenses.change(identifier, {"domicile": "杭州市西湖区文三路1号"}, "clerk", "住所变更")
    third = licenses.change(
        second.license.identifier, {"domicile": "杭州市西湖区文一路2号"}, "clerk", "住所变更"
    )
    entry = library.entry_by_identifier(identifier)
    assert entry is not None and entry.status is LicenseStatus.SUPERSEDED
    current = library.current_version(first.id)
    assert current == CurrentVersion(third.license.identifier, third.license.license_number)
    assert library.current_version(_record(services, third.license.identifier).id) == (
        CurrentVersion(None, None)
    )


def test_seals_entitlement_and_presentation_codes(
    services: Services, licenses: IssuingService, library: LibraryLookup, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    record = _record(services, identifier)
    assert library.is_report_seal(_seal_fingerprint(services)) is False
    assert library.entitled("business-license", DEPARTMENT_A, clock.now(), record.id) is True
    assert library.entitled("no-such-type", DEPARTMENT_A, clock.now()) is None
    assert library.entitled("business-license", "91330100MA0000001X", clock.now()) is None
    code = present(services, identifier, actor="holder", single_use=True)
    nonce = parse_token(code.token).claims.nonce
    assert nonce is not None
    state = library.presentation(nonce.hex())
    assert state is not None and state.license_id == record.id and state.single_use
    assert library.presentation("00" * 16) is None
    assert library.record_check(state, clock.now(), "counter", None) is True
    assert library.record_check(state, clock.now(), "counter", None) is False  # used up
