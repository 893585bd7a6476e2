"""Making one license's sealed document and its library record: the identifier minted,
the QR token signed, the page rendered and sealed (PAdES), the record built.

No transaction is held while the page is drawn and sealed: this is the slow
part of issuing, and ``IssuingService`` wraps it in the steps that reserve
before it and record after it. Serials are a per-department counter enciphered
(``codes.serials``) from blocks reserved a few at a time, so identifiers cannot
be guessed and a block costs one write, not one per license (GB/T 36904 asks
serials to be unique, not gapless).
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

from trustsvc.clock import Clock
from trustsvc.codes.identifiers import LicenseIdentifier
from trustsvc.codes.serials import SerialCipher
from trustsvc.db import Database
from trustsvc.db.models import LicenseRecord, LicenseStatus
from trustsvc.departments.seals import ActiveSeal
from trustsvc.documents.fonts import find_cjk_font, load_cjk_font
from trustsvc.documents.render import LicenseDocument, render_license
from trustsvc.licenses import library
from trustsvc.licenses.printing import license_document
from trustsvc.licenses.requests import PageMaker, canonical_json
from trustsvc.licenses.types import LicenseData, LicenseType
from trustsvc.pki.certificates import seal_key_id
from trustsvc.pki.data_key import DataKey
from trustsvc.seals.appearance import render_stamp_pdf
from trustsvc.seals.sealer import SealedDocument, Sealer
from trustsvc.settings import Settings
from trustsvc.tokens.format import TokenClaims, license_content_hash
from trustsvc.tokens.signing import sign_token

#: Serial numbers reserved at once per department and process (see ``next_sequence``);
#: only for identifiers: printed numbers are reserved one by one (see ``numbers``).
_SEQUENCE_BLOCK = 16
_STAMP_CAPTION = "电子印章"


@dataclass(frozen=True)
class IssuingSettings:
    """What issuing reads of the settings."""

    #: Stamps are made once and kept in ``home / "stamps"``.
    home: Path
    #: The service's time zone: "today" (validity, expiry) is its date.
    zone: tzinfo
    #: The base of the verification URL in each QR code.
    public_base_url: str
    #: A CJK font for the page; found on the system when None.
    cjk_font: Path | None

    @classmethod
    def of(cls, settings: Settings) -> IssuingSettings:
        return cls(settings.home, settings.zone, settings.public_base_url, settings.cjk_font)


class LicenseProducer:
    """Mints identifiers, and renders, signs and seals licenses; builds their records."""

    def __init__(
        self,
        settings: IssuingSettings,
        database: Database,
        clock: Clock,
        data_key: DataKey,
        sealer: Sealer,
    ) -> None:
        self.settings = settings
        self.database = database
        self.clock = clock
        self.data_key = data_key
        self.sealer = sealer
        # Serials are the counter enciphered (see serials): identifiers cannot be guessed.
        self.serials = SerialCipher(data_key.subkey("license serials"))
        self._font_name: str | None = None
        self._sequence_blocks: dict[int, range] = {}
        self._sequence_lock = threading.Lock()

    @property
    def font_name(self) -> str:
        if self._font_name is None:
            self._font_name = load_cjk_font(find_cjk_font(self.settings.cjk_font))
        return self._font_name

    def today(self) -> date:
        return self.clock.now().astimezone(self.settings.zone).date()

    def first_identifier(
        self, license_type: LicenseType, seal: ActiveSeal, year: int
    ) -> LicenseIdentifier:
        """A new license's identifier (version 1), its serial from this department's sequence."""
        sequence = self.next_sequence(seal.department_id)
        serial = self.serials.serial(seal.department_code, year, sequence)
        return LicenseIdentifier(license_type.code, seal.department_code, serial, 1)

    def next_sequence(self, department_id: int) -> int:
        """A serial sequence number of this department, from a block this process reserved.

        Reserving one at a time would cost a write transaction (and its fsync)
        per license. A block is reserved atomically, so numbers never repeat
        across processes or nodes; numbers of a block left unused when the
        process ends are skipped, as GB/T 36904 allows (serials must be unique,
        not gapless).
        """
        with self._sequence_lock:
            block = self._sequence_blocks.get(department_id)
            if block is None or block.start >= block.stop:
                with self.database.begin() as session:
                    block = library.reserve_sequences(session, department_id, _SEQUENCE_BLOCK)
            self._sequence_blocks[department_id] = block[1:]
            return block[0]

    def stamp(self, seal: ActiveSeal) -> Path:
        """The department's stamp as a one-page PDF, made once and kept in the home."""
        name_digest = hashlib.sha256(seal.department_name.encode()).hexdigest()[:16]
        path = self.settings.home / "stamps" / f"{name_digest}.pdf"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            # One temporary file per process and thread: two first issues at once
            # must not write the same file, nor move it from under each other.
            temporary = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            temporary.write_bytes(
                render_stamp_pdf(seal.department_name, self.font_name, caption=_STAMP_CAPTION)
            )
            temporary.replace(path)
        return path

    def content_digest(
        self, identifier: str, license_type: LicenseType, data: LicenseData
    ) -> bytes:
        """What the QR token's content hash covers: the license's facts, no ID number in clear."""
        facts = data.as_dict()
        facts["holder_id"] = self.data_key.digest(data.holder_id_type.value, data.holder_id)
        return license_content_hash(identifier, license_type.code, facts)

    def produce(
        self,
        identifier: LicenseIdentifier,
        number: str,
        license_type: LicenseType,
        data: LicenseData,
        seal: ActiveSeal,
        page: PageMaker | None = None,
    ) -> SealedDocument:
        """Render and seal one license; pure apart from the timestamp."""
        claims = TokenClaims(
            identifier=str(identifier),
            type_code=license_type.code,
            issuer_code=seal.department_code,
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            content_hash=self.content_digest(str(identifier), license_type, data),
            signed_at=int(self.clock.now().timestamp()),
        )
        token = sign_token(claims, seal.material.key, seal_key_id(seal.material.certificate))
        document = self.document(identifier, number, license_type, data, seal, token)
        rendered = (page or render_license)(document, self.font_name)
        return self.sealer.seal(
            rendered.pdf,
            seal.material,
            rendered.seal_box,
            self.stamp(seal),
            reason=f"{license_type.name_zh} {number}",
            on_page=rendered.seal_page,
        )

    def document(
        self,
        identifier: LicenseIdentifier,
        number: str,
        license_type: LicenseType,
        data: LicenseData,
        seal: ActiveSeal,
        token: str,
    ) -> LicenseDocument:
        """What the page prints: the facts, the number, the issuer, the verification link."""
        return license_document(
            license_type,
            data,
            license_number=number,
            identifier=str(identifier),
            issuer_name=seal.department_name,
            issue_date=self.today(),
            verify_url=f"{self.settings.public_base_url}/v/{token}",
            seal_caption=_STAMP_CAPTION,
        )

    def new_record(
        self,
        identifier: LicenseIdentifier,
        number: str,
        license_type: LicenseType,
        data: LicenseData,
        department_id: int,
        seal: ActiveSeal,
        sha256: str,
        signed_revision: bytes,
        now: datetime,
        request_digest: str,
        idempotency_key: str | None = None,
        supersedes_id: int | None = None,
        reason: str | None = None,
    ) -> LicenseRecord:
        """The library record of a sealed license (not yet added to any session)."""
        id_type = data.holder_id_type.value
        holder_digest = self.data_key.digest(id_type, data.holder_id)
        return LicenseRecord(
            identifier=str(identifier),
            license_number=number,
            type_key=license_type.key,
            type_code=license_type.code,
            department_id=department_id,
            issuer_code=seal.department_code,
            serial=identifier.serial,
            version=identifier.version,
            holder_name=data.holder_name,
            holder_id_type=id_type,
            holder_id_digest=holder_digest,
            current_holder_digest=holder_digest if license_type.unique_per_holder else None,
            holder_id_sealed=self.data_key.seal(id_type, data.holder_id),
            fields_json=canonical_json(dict(data.fields)).decode(),
            valid_from=data.valid_from,
            valid_until=data.valid_until,
            issued_at=now,
            status=LicenseStatus.VALID,
            status_changed_at=now,
            status_reason=reason,
            sha256=sha256,
            signed_sha256=hashlib.sha256(signed_revision).hexdigest(),
            seal_serial_hex=seal.serial_hex,
            supersedes_id=supersedes_id,
            idempotency_key=idempotency_key,
            request_digest=request_digest,
        )


__all__ = ["IssuingSettings", "LicenseProducer"]
