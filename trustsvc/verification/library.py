"""The library's side of a verification: what the service knows of a license, a seal, a code.

A verifier is built from trust material alone (``trustsvc.verification.trust``);
online it also asks a ``LibraryLookup``, the small Protocol here. Offline there
is none, and nothing but the home's certificate files and the document or
token is read. ``DatabaseLibrary`` answers from the service's database: the
hottest reads (a license by identifier or document digest, a token's license
with its seal's revocation) on prepared statements run on the driver's cursor
(``trustsvc.db.prepared``), the rest through the ORM. A verification child
asks its parent, which holds the database (``trustsvc.verification.isolation``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any, Protocol

from cryptography import x509
from sqlalchemy import bindparam, or_, select, update

from trustsvc.audit.events import (
    LICENSE_KINDS,
    LICENSE_STATE_COLUMNS,
    PresentationChecked,
    decode_entry,
    license_state_digest,
)
from trustsvc.audit.recording import record
from trustsvc.db import Database
from trustsvc.db.models import (
    REPORT_SEAL_PURPOSE,
    CertificateRecord,
    Department,
    LicenseRecord,
    LicenseStatus,
    LogEntry,
    Presentation,
)
from trustsvc.db.prepared import PreparedStatement, driver_cursor
from trustsvc.licenses.entitlement import EntitlementBook, packaged_types
from trustsvc.tlog.merkle import leaf_hash
from trustsvc.verification.report import Verdict


class RevocationUnavailable(Exception):
    """The service's own revocation answers could not be had (its database, its responder)."""


@dataclass(frozen=True)
class Entry:
    """The library's facts about one license, read in one query."""

    license_id: int
    identifier: str
    type_key: str
    license_number: str
    issuer_name: str
    issuer_code: str
    holder_name: str
    holder_id_type: str
    valid_from: date
    valid_until: date | None
    status: LicenseStatus
    seal_serial_hex: str
    #: What an online token check compares the token with (see ``verifier._token_matches``).
    type_code: str = ""
    holder_id_digest: str = ""
    fields_json: str = "{}"
    sha256: str = ""
    #: As the driver returns it (text on SQLite): read only to date a version 1 token.
    issued_at: object = None
    #: As the driver returns them: read only for a license not in force.
    status_changed_at: object = None
    status_reason: str | None = None
    revocation_kind: str | None = None
    signed_sha256: str = ""
    #: The log index of the license's latest entry (None: the record names none).
    log_index: int | None = None
    #: Whether the record is the one its latest log entry vouches for (``bound_to_log``).
    log_bound: bool = False


@dataclass(frozen=True)
class Revocation:
    """The library's record of a revoked seal certificate."""

    revoked_at: datetime
    reason: str
    #: RFC 5280 invalidityDate, given with a key compromise.
    invalidity_date: datetime | None

    def refuses(self, signed_at: datetime | None) -> bool:
        """Whether something signed at ``signed_at`` (None: unknown) falls after the cut.

        A compromised key is unfit since its invalidity date, or since ever when
        none was given; a key revoked for any other reason is unfit since its
        revocation. What cannot be dated is refused.
        """
        if self.reason == "key_compromise":
            cut = self.invalidity_date
            if cut is None:
                return True
        else:
            cut = self.revoked_at
        return signed_at is None or signed_at >= cut


@dataclass(frozen=True)
class CodeState:
    """A presentation code as the library holds it."""

    presentation_id: int
    license_id: int
    expires_at: datetime
    purpose: str | None
    intended_verifier: str | None
    single_use: bool


@dataclass(frozen=True)
class CurrentVersion:
    """The version that replaced a superseded license last (None: none found)."""

    identifier: str | None
    license_number: str | None


class LibraryLookup(Protocol):
    """What an online verification asks the library; every answer is read-only but the last."""

    def entry_by_identifier(self, identifier: str) -> Entry | None: ...

    def entry_by_document(self, signed_sha256: str, whole_sha256: str) -> Entry | None:
        """The license whose sealed revision (or, for older records, whole file) this is."""
        ...

    def token_entry(
        self, identifier: str, fingerprint: str
    ) -> tuple[Entry | None, Revocation | None]:
        """A token's license and the revocation of the seal (by SHA-256 hex) that signed it."""
        ...

    def current_version(self, license_id: int) -> CurrentVersion: ...

    def seal_revocation(self, fingerprint: str) -> Revocation | None:
        """The library's revocation of a seal certificate; raises ``RevocationUnavailable``."""
        ...

    def document_entry(
        self, signed_sha256: str, whole_sha256: str, fingerprint: str
    ) -> tuple[Entry | None, Revocation | None]:
        """A sealed document's license and its seal's revocation, asked as one question.

        ``entry_by_document`` and ``seal_revocation`` together (so a verification
        child asks its parent once); raises ``RevocationUnavailable`` as the latter does.
        """
        ...

    def is_report_seal(self, fingerprint: str) -> bool: ...

    def entitled(
        self, type_key: str, issuer_code: str, moment: datetime, license_id: int | None = None
    ) -> bool | None:
        """Whether the department might issue the type (None: unknown department or type).

        As of the library's issuance time of ``license_id`` when given (read only
        when the answer depends on the time), else as of ``moment``.
        """
        ...

    def revocation_answers(self, certificate: x509.Certificate) -> tuple[bytes, tuple[bytes, ...]]:
        """A fresh OCSP answer for one of the service's own seals, and the CAs' CRLs (DER)."""
        ...

    def presentation(self, nonce_hex: str) -> CodeState | None: ...

    def record_check(
        self,
        code: CodeState,
        checked_at: datetime,
        checked_by: str,
        purpose: str | None,
    ) -> bool:
        """Record a successful check of a code, using up a single-use one.

        False when a single-use code was used already (parallel checks race on
        one statement: exactly one of them wins).
        """
        ...


_ENTRY_COLUMNS = (
    LicenseRecord.id,
    LicenseRecord.identifier,
    LicenseRecord.type_key,
    LicenseRecord.license_number,
    Department.name,
    LicenseRecord.issuer_code,
    LicenseRecord.holder_name,
    LicenseRecord.holder_id_type,
    LicenseRecord.valid_from,
    LicenseRecord.valid_until,
    LicenseRecord.status,
    LicenseRecord.seal_serial_hex,
    LicenseRecord.type_code,
    LicenseRecord.holder_id_digest,
    LicenseRecord.fields_json,
    LicenseRecord.sha256,
    LicenseRecord.issued_at,
    LicenseRecord.status_changed_at,
    LicenseRecord.status_reason,
    LicenseRecord.revocation_kind,
    LicenseRecord.signed_sha256,
    LicenseRecord.log_index,
    LicenseRecord.log_entry_hash,
    # The entry itself, in the same read (an outer join on the log's primary key).
    LogEntry.body,
)
_REVOCATION_COLUMNS = slice(len(_ENTRY_COLUMNS), len(_ENTRY_COLUMNS) + 3)
_REVOCATION = (
    select(
        CertificateRecord.revoked_at,
        CertificateRecord.revocation_reason,
        CertificateRecord.invalidity_date,
    )
    .where(CertificateRecord.fingerprint_sha256 == bindparam("fingerprint"))
    .limit(1)
)
_ENTRY_SELECT = (
    select(*_ENTRY_COLUMNS)
    .join(Department)
    .outerjoin(LogEntry, LogEntry.idx == LicenseRecord.log_index)
)
#: The version that replaced a license (a change supersedes the version it replaces).
_SUCCESSOR = select(
    LicenseRecord.id, LicenseRecord.identifier, LicenseRecord.license_number, LicenseRecord.status
).where(LicenseRecord.supersedes_id == bindparam("license_id"))
#: How many changes are followed to the version in force (a chain is never this long).
_MAX_SUCCESSORS = 100
#: A token's license and the revocation of the seal that signed it, in one statement.
_TOKEN_LOOKUP = (
    select(
        *_ENTRY_COLUMNS,
        CertificateRecord.revoked_at,
        CertificateRecord.revocation_reason,
        CertificateRecord.invalidity_date,
    )
    .select_from(LicenseRecord)
    .join(Department, LicenseRecord.department_id == Department.id)
    .outerjoin(LogEntry, LogEntry.idx == LicenseRecord.log_index)
    .outerjoin(CertificateRecord, CertificateRecord.fingerprint_sha256 == bindparam("fingerprint"))
    .where(LicenseRecord.identifier == bindparam("identifier"))
    .limit(1)
)
_STATEMENTS = {
    "identifier": _ENTRY_SELECT.where(LicenseRecord.identifier == bindparam("identifier")).limit(1),
    "document": _ENTRY_SELECT.where(
        or_(
            LicenseRecord.signed_sha256 == bindparam("signed"),
            LicenseRecord.sha256 == bindparam("whole"),
        )
    ).limit(1),
    "token": _TOKEN_LOOKUP,
    "revocation": _REVOCATION,
    "successor": _SUCCESSOR,
}


def as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def as_utc(value: Any) -> datetime:
    """A UTC column read by the driver: aware (PostgreSQL) or naive UTC text (SQLite)."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def entry_of(row: Any) -> Entry:
    return Entry(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7],
        as_date(row[8]), as_date(row[9]) if row[9] is not None else None,
        LicenseStatus(row[10]), row[11], row[12], row[13], row[14], row[15], row[16],
        row[17], row[18], row[19], row[20], row[21], _bound(row),
    )  # fmt: skip


#: ``_ENTRY_COLUMNS`` position of each column the log vouches for.
_STATE_POSITIONS = tuple(
    next(i for i, c in enumerate(_ENTRY_COLUMNS) if getattr(c, "key", None) == name)
    for name in LICENSE_STATE_COLUMNS
)


def _bound(row: Any) -> bool:
    """Whether the row is the record its latest entry vouches for (see ``bound_to_log``)."""
    leaf, body = row[22], row[23]
    if leaf is None or body is None:
        return False
    state = tuple(row[i] for i in _STATE_POSITIONS)
    return bound_to_log(bytes(body), bytes(leaf), state)


@lru_cache(maxsize=8192)
def bound_to_log(body: bytes, leaf: bytes, state: tuple[object, ...]) -> bool:
    """The record (``state``: its ``LICENSE_STATE_COLUMNS``) against its latest entry.

    The entry must hash to the leaf the record names, be an entry of this
    license, and carry the digest of exactly this state: a status, holder name
    or any vouched-for column edited in the database, or an entry swapped for
    another, fails. Remembered per record: the same licenses are checked over
    and over, and any edit changes the key.
    """
    if leaf_hash(body) != leaf:
        return False
    try:
        entry = decode_entry(body)
    except ValueError:
        return False
    values = dict(zip(LICENSE_STATE_COLUMNS, state, strict=True))
    return (
        entry.get("kind") in LICENSE_KINDS
        and entry.get("license") == values["identifier"]
        and entry.get("record") == license_state_digest(values)
    )


def revocation_of(row: Any) -> Revocation | None:
    if row[0] is None:
        return None
    return Revocation(
        as_utc(row[0]),
        str(row[1] or "unspecified"),
        as_utc(row[2]) if row[2] is not None else None,
    )


class RevocationSource(Protocol):
    """The service's own revocation answers (``trustsvc.pki.revocation.RevocationService``)."""

    def ocsp_for(self, certificate: x509.Certificate) -> bytes: ...

    def current_crl(self, ca: str) -> bytes: ...


class DatabaseLibrary:
    """The library lookup over the service's database (one per process: it keeps statements)."""

    def __init__(self, database: Database, revocation: RevocationSource) -> None:
        self.database = database
        self._revocation = revocation
        self._statements: dict[str, PreparedStatement] = {}
        self._entitlements = EntitlementBook(database)

    def _prepared(self, name: str) -> PreparedStatement:
        prepared = self._statements.get(name)
        if prepared is None:
            # Compiled once and run on the driver's cursor: SQLAlchemy's per-call
            # set-up otherwise cost more than the one-row indexed read.
            prepared = PreparedStatement(_STATEMENTS[name], self.database.engine)
            self._statements[name] = prepared
        return prepared

    def _fetch_one(self, name: str, **values: str | int) -> Any:
        statement = self._prepared(name)
        with driver_cursor(self.database.engine) as cursor:
            return statement.fetch_one(cursor, **values)

    def entry_by_identifier(self, identifier: str) -> Entry | None:
        row = self._fetch_one("identifier", identifier=identifier)
        return None if row is None else entry_of(row)

    def entry_by_document(self, signed_sha256: str, whole_sha256: str) -> Entry | None:
        row = self._fetch_one("document", signed=signed_sha256, whole=whole_sha256)
        return None if row is None else entry_of(row)

    def token_entry(
        self, identifier: str, fingerprint: str
    ) -> tuple[Entry | None, Revocation | None]:
        # One statement when the license is known (the seal's revocation joined
        # in); a second, for the seal alone, only for an unknown identifier.
        lookup = self._prepared("token")
        with driver_cursor(self.database.engine) as cursor:
            row = lookup.fetch_one(cursor, identifier=identifier, fingerprint=fingerprint)
            if row is not None:
                return entry_of(row), revocation_of(row[_REVOCATION_COLUMNS])
            revoked = self._prepared("revocation").fetch_one(cursor, fingerprint=fingerprint)
        return None, None if revoked is None else revocation_of(revoked)

    def current_version(self, license_id: int) -> CurrentVersion:
        successors = self._prepared("successor")
        identifier = number = None
        with driver_cursor(self.database.engine) as cursor:
            for _ in range(_MAX_SUCCESSORS):
                row = successors.fetch_one(cursor, license_id=license_id)
                if row is None:
                    break
                license_id, identifier, number = row[0], row[1], row[2]
                if LicenseStatus(row[3]) is not LicenseStatus.SUPERSEDED:
                    break
        return CurrentVersion(identifier, number)

    def seal_revocation(self, fingerprint: str) -> Revocation | None:
        try:
            # The prepared statement: every PDF check asks this, and through the ORM's
            # session it cost more than the indexed read itself.
            row = self._fetch_one("revocation", fingerprint=fingerprint)
        except Exception as exc:
            raise RevocationUnavailable from exc
        return None if row is None else revocation_of(row)

    def document_entry(
        self, signed_sha256: str, whole_sha256: str, fingerprint: str
    ) -> tuple[Entry | None, Revocation | None]:
        revocation = self.seal_revocation(fingerprint)
        return self.entry_by_document(signed_sha256, whole_sha256), revocation

    def is_report_seal(self, fingerprint: str) -> bool:
        with self.database.begin() as session:
            found = session.scalar(
                select(CertificateRecord.id).where(
                    CertificateRecord.fingerprint_sha256 == fingerprint,
                    CertificateRecord.purpose == REPORT_SEAL_PURPOSE,
                )
            )
        return found is not None

    def entitled(
        self, type_key: str, issuer_code: str, moment: datetime, license_id: int | None = None
    ) -> bool | None:
        license_type = packaged_types().get(type_key)
        if license_type is None:
            return None
        when: datetime | Callable[[], datetime] = moment
        if license_id is not None:

            def issued_at() -> datetime:
                with self.database.begin() as session:
                    issued = session.scalar(
                        select(LicenseRecord.issued_at).where(LicenseRecord.id == license_id)
                    )
                return issued or moment

            when = issued_at
        return self._entitlements.entitled(license_type, issuer_code, when)

    def revocation_answers(self, certificate: x509.Certificate) -> tuple[bytes, tuple[bytes, ...]]:
        try:
            return self._revocation.ocsp_for(certificate), tuple(
                self._revocation.current_crl(ca) for ca in ("root", "issuing")
            )
        except Exception as exc:
            raise RevocationUnavailable from exc

    def presentation(self, nonce_hex: str) -> CodeState | None:
        with self.database.begin() as session:
            row = session.scalar(select(Presentation).where(Presentation.nonce == nonce_hex))
            if row is None:
                return None
            return CodeState(
                row.id,
                row.license_id,
                row.expires_at,
                row.purpose,
                row.intended_verifier,
                row.single_use,
            )

    def record_check(
        self, code: CodeState, checked_at: datetime, checked_by: str, purpose: str | None
    ) -> bool:
        with self.database.begin() as session:
            if code.single_use:
                # One statement decides who uses the code up: parallel checks race on it.
                claimed = session.execute(
                    update(Presentation)
                    .where(Presentation.id == code.presentation_id, Presentation.used_at.is_(None))
                    .values(used_at=checked_at)
                )
                if getattr(claimed, "rowcount", 0) != 1:
                    return False
            license_row = session.execute(
                select(LicenseRecord.identifier, LicenseRecord.holder_id_digest).where(
                    LicenseRecord.id == code.license_id
                )
            ).one()
            record(
                session,
                PresentationChecked(
                    license_id=code.license_id,
                    identifier=license_row.identifier,
                    holder_id_digest=license_row.holder_id_digest,
                    presentation_id=code.presentation_id,
                    checked_at=checked_at,
                    checked_by=checked_by,
                    purpose=purpose,
                    verdict=Verdict.VALID.value,  # only a check that passed uses a code up
                ),
            )
        return True


class OrmLibrary(DatabaseLibrary):
    """The same lookup with every read through the ORM's sessions: the reference the
    prepared-statement fast path is held to (``tests/verification/test_library_contract.py``)."""

    def _first(self, statement: Any) -> Any:
        with self.database.begin() as session:
            return session.execute(statement).first()

    def entry_by_identifier(self, identifier: str) -> Entry | None:
        row = self._first(_ENTRY_SELECT.where(LicenseRecord.identifier == identifier).limit(1))
        return None if row is None else entry_of(row)

    def entry_by_document(self, signed_sha256: str, whole_sha256: str) -> Entry | None:
        row = self._first(
            _ENTRY_SELECT.where(
                or_(
                    LicenseRecord.signed_sha256 == signed_sha256,
                    LicenseRecord.sha256 == whole_sha256,
                )
            ).limit(1)
        )
        return None if row is None else entry_of(row)

    def token_entry(
        self, identifier: str, fingerprint: str
    ) -> tuple[Entry | None, Revocation | None]:
        with self.database.begin() as session:
            row = session.execute(
                _TOKEN_LOOKUP, {"identifier": identifier, "fingerprint": fingerprint}
            ).first()
            if row is not None:
                return entry_of(row), revocation_of(row[_REVOCATION_COLUMNS])
            revoked = session.execute(_REVOCATION, {"fingerprint": fingerprint}).first()
        return None, None if revoked is None else revocation_of(revoked)

    def seal_revocation(self, fingerprint: str) -> Revocation | None:
        try:
            row = self._first(
                select(
                    CertificateRecord.revoked_at,
                    CertificateRecord.revocation_reason,
                    CertificateRecord.invalidity_date,
                ).where(CertificateRecord.fingerprint_sha256 == fingerprint)
            )
        except Exception as exc:
            raise RevocationUnavailable from exc
        return None if row is None else revocation_of(row)

    def current_version(self, license_id: int) -> CurrentVersion:
        identifier = number = None
        with self.database.begin() as session:
            for _ in range(_MAX_SUCCESSORS):
                row = session.execute(_SUCCESSOR, {"license_id": license_id}).first()
                if row is None:
                    break
                license_id, identifier, number = row[0], row[1], row[2]
                if LicenseStatus(row[3]) is not LicenseStatus.SUPERSEDED:
                    break
        return CurrentVersion(identifier, number)
