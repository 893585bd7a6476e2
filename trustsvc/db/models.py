"""Rows of the service's database (SQLAlchemy 2 declarative mapping).

The only module that defines tables. The same schema serves SQLite (the
embedded default) and PostgreSQL; anything dialect-specific lives in
``trustsvc.db`` and in the migrations.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in, timezone-aware UTC out, on every dialect.

    SQLite keeps no zone, so values are normalised to UTC on the way in and
    marked UTC on the way out; a naive datetime is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


def _enum_column(enum_cls: type[StrEnum], name: str) -> Enum:
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [m.value for m in members],
    )


class CertificateRole(StrEnum):
    ROOT_CA = "root_ca"
    ISSUING_CA = "issuing_ca"
    TSA = "tsa"
    OCSP = "ocsp"
    SEAL = "seal"
    #: An intermediate CA that came with an imported seal certificate.
    EXTERNAL_CA = "external_ca"
    #: A root the operator added to the trust list.
    TRUST_ANCHOR = "trust_anchor"
    #: The key that signs the published trust bundle (/pki/trust-bundle).
    TRUST_LIST = "trust_list"


class Department(Base):
    """An issuing department (颁发机构)."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(18), unique=True)
    #: Unique: two departments that look alike on a seal would be one to a reader.
    name: Mapped[str] = mapped_column(String(200), unique=True, index=True)
    region_code: Mapped[str | None] = mapped_column(String(6))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: What sort of department it is (``trustsvc.licenses.entitlement.DepartmentKind``).
    kind: Mapped[str | None] = mapped_column(String(40))

    certificates: Mapped[list[CertificateRecord]] = relationship(back_populates="department")


class CertificateRecord(Base):
    """Every certificate the service issued or was given, and its revocation state.

    ``issuer_ca`` names the service CA that issued it ("root", "issuing"), or is
    NULL for a certificate from an outside CA (an imported seal), whose
    revocation is that CA's business.
    """

    __tablename__ = "certificates"
    __table_args__ = (UniqueConstraint("issuer_ca", "serial_hex", name="uq_certificates_serial"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    role: Mapped[CertificateRole] = mapped_column(_enum_column(CertificateRole, "certificate_role"))
    issuer_ca: Mapped[str | None] = mapped_column(String(32))
    serial_hex: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(500))
    fingerprint_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    der: Mapped[bytes] = mapped_column(LargeBinary)
    not_before: Mapped[datetime] = mapped_column(UTCDateTime())
    not_after: Mapped[datetime] = mapped_column(UTCDateTime())
    key_id: Mapped[str | None] = mapped_column(String(100))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revocation_reason: Mapped[str | None] = mapped_column(String(32))
    #: When the key became unfit, if known (RFC 5280 invalidityDate; key compromise only).
    invalidity_date: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: What a seal of the service's own is for (``REPORT_SEAL_PURPOSE``); NULL for others.
    purpose: Mapped[str | None] = mapped_column(String(32))

    department: Mapped[Department | None] = relationship(back_populates="certificates")


#: ``CertificateRecord.purpose`` of the service's verification-report seal (核验报告专用章).
REPORT_SEAL_PURPOSE = "verification_report"


class CrlRecord(Base):
    """A CRL as published, so that its number only grows and nodes agree on it."""

    __tablename__ = "crls"
    __table_args__ = (UniqueConstraint("ca", "number", name="uq_crls_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ca: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer)
    this_update: Mapped[datetime] = mapped_column(UTCDateTime())
    next_update: Mapped[datetime] = mapped_column(UTCDateTime())
    der: Mapped[bytes] = mapped_column(LargeBinary)


class LicenseStatus(StrEnum):
    """Stored lifecycle status. "Expired" is not stored: it follows from the dates."""

    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class LicenseRecord(Base):
    """One version of one e-license in the unified license library (电子证照库)."""

    __tablename__ = "licenses"
    __table_args__ = (
        UniqueConstraint("issuer_code", "serial", "version", name="uq_licenses_serial_version"),
        UniqueConstraint("department_id", "idempotency_key", name="uq_licenses_idempotency"),
        # At most one current license of a type per holder, where the type says so (see
        # ``current_holder_digest``); NULLs are distinct, so other licenses are not held back.
        UniqueConstraint("type_key", "current_holder_digest", name="uq_licenses_current_holder"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    identifier: Mapped[str] = mapped_column(String(128), unique=True)
    license_number: Mapped[str] = mapped_column(String(64), index=True)
    type_key: Mapped[str] = mapped_column(String(64), index=True)
    type_code: Mapped[str] = mapped_column(String(21))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)
    issuer_code: Mapped[str] = mapped_column(String(18))
    serial: Mapped[str] = mapped_column(String(30))
    version: Mapped[int] = mapped_column(Integer)
    holder_name: Mapped[str] = mapped_column(String(200))
    holder_id_type: Mapped[str] = mapped_column(String(3))
    #: HMAC of the holder ID: searchable, but not reversible from a dump.
    holder_id_digest: Mapped[str] = mapped_column(String(64), index=True)
    #: AES-GCM of the holder ID (nonce + ciphertext), for showing it to those entitled.
    holder_id_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    #: The type's fields, as canonical JSON.
    fields_json: Mapped[str] = mapped_column(Text)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[LicenseStatus] = mapped_column(_enum_column(LicenseStatus, "license_status"))
    status_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status_reason: Mapped[str | None] = mapped_column(String(500))
    #: For a revoked license: "cancelled" (注销, on request) or "withdrawn" (吊销, a sanction).
    revocation_kind: Mapped[str | None] = mapped_column(String(16))
    #: SHA-256 of the sealed PDF, also its key in the document store.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    #: SHA-256 of the revision the seal signs (the PDF up to the end of its
    #: ByteRange): what verification compares, since validation data may be
    #: added after it by anyone without changing what was sealed.
    signed_sha256: Mapped[str] = mapped_column(String(64), index=True, server_default="")
    seal_serial_hex: Mapped[str] = mapped_column(String(64))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("licenses.id"))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    #: SHA-256 of the normalised request, to refuse a reused key with other data.
    request_digest: Mapped[str] = mapped_column(String(64))
    #: The holder digest while this license holds its holder's one place (a type that is
    #: ``unique_per_holder``, valid or suspended); NULL otherwise and once it is revoked,
    #: superseded or found expired.
    current_holder_digest: Mapped[str | None] = mapped_column(String(64))
    #: The log index and RFC 6962 leaf hash of the license's latest entry (``audit.events``).
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    log_entry_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))

    department: Mapped[Department] = relationship()


class LicenseEvent(Base):
    """Who did what to a license, when and why: append-only."""

    __tablename__ = "license_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))
    from_status: Mapped[str | None] = mapped_column(String(32))
    to_status: Mapped[str] = mapped_column(String(32))
    #: A revocation's kind: "cancelled" (注销) or "withdrawn" (吊销).
    revocation_kind: Mapped[str | None] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Its entry in the transparency log (``audit.events``).
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class SerialCounter(Base):
    """The next serial number of each issuer; serials are reserved, never reused."""

    __tablename__ = "serial_counters"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class NumberState(StrEnum):
    """What became of a reserved license number."""

    RESERVED = "reserved"
    ISSUED = "issued"
    VOID = "void"


class NumberCounter(Base):
    """The next printed license number (证照编号) of a department, type and year.

    ``scope_year`` is 0 for a type whose number format has no year: its numbers
    run on across years.
    """

    __tablename__ = "number_counters"

    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), primary_key=True)
    type_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope_year: Mapped[int] = mapped_column(Integer, primary_key=True)
    next_value: Mapped[int] = mapped_column(BigInteger)


class LicenseNumberRecord(Base):
    """Every printed license number reserved, and what became of it (issued or void, 作废)."""

    __tablename__ = "license_numbers"
    __table_args__ = (
        UniqueConstraint(
            "department_id", "type_key", "scope_year", "sequence", name="uq_license_numbers"
        ),
        # The sweep looks for reservations left behind, oldest first.
        Index("ix_license_numbers_state", "state", "reserved_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    type_key: Mapped[str] = mapped_column(String(64))
    scope_year: Mapped[int] = mapped_column(Integer)
    #: The year the number was reserved in (its printed year, when the format has one).
    year: Mapped[int] = mapped_column(Integer)
    sequence: Mapped[int] = mapped_column(BigInteger)
    number: Mapped[str] = mapped_column(String(64))
    state: Mapped[NumberState] = mapped_column(_enum_column(NumberState, "number_state"))
    reserved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reserved_by: Mapped[str] = mapped_column(String(200))
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    license_id: Mapped[int | None] = mapped_column(ForeignKey("licenses.id"))
    #: Why the number was voided (作废): the failure, the refusal, or an abandoned reservation.
    void_reason: Mapped[str | None] = mapped_column(String(500))


class StoredDocument(Base):
    """Sealed PDFs kept in the database, when several nodes share one library."""

    __tablename__ = "documents"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    stored_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Presentation(Base):
    """A short-lived presentation code (亮证) a holder made for one license."""

    __tablename__ = "presentations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nonce: Mapped[str] = mapped_column(String(32), unique=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    single_use: Mapped[bool] = mapped_column(Boolean)
    purpose: Mapped[str | None] = mapped_column(String(200))
    intended_verifier: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str] = mapped_column(String(200))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class VerificationEvent(Base):
    """A check of a holder's license that the holder may see (全程留痕): append-only."""

    __tablename__ = "verification_events"
    #: A clerk's desk lists the checks of its own client, newest first (0022).
    __table_args__ = (Index("ix_verification_events_checker", "checked_by", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"), index=True)
    presentation_id: Mapped[int | None] = mapped_column(ForeignKey("presentations.id"))
    checked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    checked_by: Mapped[str] = mapped_column(String(200))
    purpose: Mapped[str | None] = mapped_column(String(200))
    verdict: Mapped[str] = mapped_column(String(40))
    #: Its entry in the transparency log (``audit.events``).
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class ClientRole(StrEnum):
    """What an API client may do; checked on every route."""

    ISSUER = "issuer"
    VERIFIER = "verifier"
    ADMIN = "admin"


class ApiClient(Base):
    """A system that calls the API: a department's approval system, a verifier, an operator."""

    __tablename__ = "api_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    role: Mapped[ClientRole] = mapped_column(_enum_column(ClientRole, "client_role"))
    #: The department an issuer acts for, or a verifier belongs to (None for third parties).
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: JSON list of the purposes (用证事由) a verifier may state.
    purposes_json: Mapped[str] = mapped_column(Text, default="[]")
    rate_limit_per_minute: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    department: Mapped[Department | None] = relationship()


class ApiKey(Base):
    """One key of a client: only its public id and the SHA-256 of its secret are kept."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(32), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: After this moment the key is refused (rotation leaves the old key a grace period).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[ApiClient] = relationship()


class AccessEvent(Base):
    """One use of shared data through the API (全程留痕): append-only.

    Who (the client, a snapshot of its name and department), what (the
    action, the holder as a keyed digest, what was returned), why (the
    purpose) and whether it was answered or refused.
    """

    __tablename__ = "access_events"
    #: A holder's record reads uses and refusals apart, newest first, a page at a time;
    #: this one index serves both (and replaces one on the holder alone, so that the
    #: hot insert maintains no more indexes than before).
    __table_args__ = (Index("ix_access_events_holder_record", "holder_id_digest", "outcome", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"), index=True)
    actor: Mapped[str] = mapped_column(String(200))
    actor_department: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))
    refusal: Mapped[str | None] = mapped_column(String(200))
    holder_id_digest: Mapped[str | None] = mapped_column(String(64))
    license_type: Mapped[str | None] = mapped_column(String(64))
    #: JSON list of the license identifiers the answer named.
    returned_json: Mapped[str] = mapped_column(Text, default="[]")
    answer: Mapped[str | None] = mapped_column(String(200))
    #: The public id of the holder's grant (授权) the lookup was made under, if any.
    grant_id: Mapped[str | None] = mapped_column(String(24))
    #: Its entry in the transparency log (``audit.events``).
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"


class BatchJob(Base):
    """A batch of licenses submitted over the API, issued row by row in the background."""

    __tablename__ = "batch_jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("api_clients.id"), index=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    type_key: Mapped[str] = mapped_column(String(64))
    status: Mapped[JobStatus] = mapped_column(_enum_column(JobStatus, "job_status"))
    total: Mapped[int] = mapped_column(Integer)
    #: The rows, sealed with the data key (they carry ID numbers); emptied once done.
    rows_json: Mapped[str] = mapped_column(Text)
    #: What the submission's idempotency key is bound to.
    request_digest: Mapped[str] = mapped_column(String(64))
    #: JSON list of per-row outcomes, in row order, as far as done.
    results_json: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Set while a process works on the job and refreshed as it goes; a stale one is resumed.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class HolderSession(Base):
    """A holder's signed-in session, kept on the server so that signing out ends it.

    The session cookie names the session by a random id; only its SHA-256 is
    kept here, so a copy of the database gives no one a working cookie.
    """

    __tablename__ = "holder_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: The library's keyed digest of the holder's ID, as the cookie carries it.
    holder_id_digest: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: When it was signed out, replaced by another sign-in, or found expired.
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OperatorEvent(Base):
    """What an operator changed, by whom, when and from where: append-only.

    Kept close to ``access_events`` and ``license_events`` (a time, an actor, an
    action and what it concerned) so that one log can hold them all later.
    """

    __tablename__ = "operator_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Who: the operating-system user (or ``--actor``) on the CLI, the admin client over HTTP.
    actor: Mapped[str] = mapped_column(String(200))
    #: From where: ``cli@<host>``, or ``http:<client address>``.
    origin: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32), index=True)
    #: What it concerned: a client's name, a department's credit code, a fingerprint.
    target: Mapped[str] = mapped_column(String(200))
    #: The particulars, as a JSON object (never a secret).
    details_json: Mapped[str] = mapped_column(Text, default="{}")
    #: Its entry in the transparency log (``audit.events``).
    log_index: Mapped[int | None] = mapped_column(BigInteger)


class TypeEntitlement(Base):
    """An explicit grant or denial of one license type to one department: append-only.

    The newest row at or before a moment decides for that moment, over the
    type's own rule; so a later denial leaves licenses sealed before it valid.
    """

    __tablename__ = "type_entitlements"
    __table_args__ = (Index("ix_type_entitlements_department_type", "department_id", "type_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    type_key: Mapped[str] = mapped_column(String(64))
    allowed: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(String(500))


class PurposeEntry(Base):
    """A purpose (用证事由) of the catalogue and the license types it may see."""

    __tablename__ = "purposes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    #: JSON list of license type keys.
    types_json: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Made by migration 0013 from a client's free-text purpose, with every type: to review.
    migrated: Mapped[bool] = mapped_column(Boolean)


class StaffRole(StrEnum):
    """What a member of staff does on the service's pages (roles live here, not at the IdP)."""

    CLERK = "clerk"  # 窗口人员: verifies at a service hall's window
    OFFICER = "officer"  # 经办人员: issues and manages one department's licenses
    DEPARTMENT_ADMIN = "department_admin"  # 部门管理员: one department's seals and staff
    AUDITOR = "auditor"  # 审计人员: reads statistics and the records, changes nothing
    OPERATOR_ADMIN = "operator_admin"  # 运营管理员: the whole service


class StaffUser(Base):
    """A member of staff, known by the identity provider's subject (``sub``).

    A clerk, an officer or the operator administrator acts through an API
    client of the matching role made with the user (``client``): the pages
    call the same domain functions with it, so a page never has more power
    than the API role it stands for. That client has no key: it cannot be
    used over the API.
    """

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(200), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(_enum_column(StaffRole, "staff_role"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: A clerk's service hall (政务服务中心) and window (窗口).
    hall: Mapped[str | None] = mapped_column(String(200))
    window: Mapped[str | None] = mapped_column(String(200))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    department: Mapped[Department | None] = relationship()
    client: Mapped[ApiClient | None] = relationship()


class LogEntry(Base):
    """One entry of the transparency log: its index, assigned once, and its bytes."""

    __tablename__ = "log_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    body: Mapped[bytes] = mapped_column(LargeBinary)
    appended_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LogSequence(Base):
    """The log's one counter: the index the next entry gets (row-locked while appending)."""

    __tablename__ = "log_sequence"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    next_idx: Mapped[int] = mapped_column(BigInteger)


class LogHash(Base):
    """A stored hash of the Merkle tree (golang.org/x/mod/sumdb/tlog's stored-hash index)."""

    __tablename__ = "log_hashes"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogHead(Base):
    """The log's one head row: the integrated tree and the published checkpoint.

    Both halves change only by compare-and-swap on their size, so two integrators
    or two publishers never fork the tree: one wins, the other reads again.
    """

    __tablename__ = "log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: Entries folded into log_hashes, and the root of the tree of that many.
    size: Mapped[int] = mapped_column(BigInteger)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    integrated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The published checkpoint (a signed note with its cosignatures) and its tree size.
    checkpoint_size: Mapped[int] = mapped_column(BigInteger)
    checkpoint: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


#: The statistics page counts each month's licenses per type (and department) from this
#: index alone: one range of it per month (``audit.statistics``).
Index(
    "ix_licenses_issued_type",
    LicenseRecord.issued_at,
    LicenseRecord.type_key,
    LicenseRecord.department_id,
)


class GranteeKind(StrEnum):
    """Whom a holder's grant (授权) is to."""

    #: Another person (代办人), known by the keyed digest of their ID.
    AGENT = "agent"
    #: One API client of role verifier.
    CLIENT = "client"
    #: Any verifier client of one department.
    DEPARTMENT = "department"


class HolderGrant(Base):
    """A holder's authorisation (授权) of one license's use, for one purpose and period.

    The agent's ID is kept only as the library's keyed digest (as holders'
    are) with its masked form for the holder's page; a client or department
    is kept by its row and a snapshot of its name, so the grant reads the
    same after a rename.
    """

    __tablename__ = "holder_grants"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    #: The grant's public id: what a lookup names, and the holder's page shows.
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    holder_id_digest: Mapped[str] = mapped_column(String(64), index=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id"))
    grantee_kind: Mapped[GranteeKind] = mapped_column(_enum_column(GranteeKind, "grantee_kind"))
    agent_id_digest: Mapped[str | None] = mapped_column(String(64))
    client_id: Mapped[int | None] = mapped_column(ForeignKey("api_clients.id"))
    department_id: Mapped[int | None] = mapped_column(ForeignKey("departments.id"))
    #: The grantee as the holder named it (a masked ID and name, a client's or department's name).
    grantee_name: Mapped[str] = mapped_column(String(240))
    purpose: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[datetime] = mapped_column(UTCDateTime())
    valid_until: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    license: Mapped[LicenseRecord] = relationship()


class LogCheckpoint(Base):
    """Every checkpoint the log published, by tree size (the latest is also in log_head).

    Added in the transaction whose compare-and-swap on log_head published it, so
    the history and the head never disagree unless someone edited them.
    """

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    #: The signed note with its cosignatures, as published.
    note: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
