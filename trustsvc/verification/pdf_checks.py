"""PDF checks: a sealed PDF's structure, its seal (PAdES, by pyHanko), its timestamp,
the seal certificate's trust and revocation, and what the library says of the document.

The order and the rules are the verifier's (``trustsvc.verification.verifier``).
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import time
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from asn1crypto import cms, crl, ocsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate, AdESSubIndic
from pyhanko.sign.diff_analysis import (
    DEFAULT_DIFF_POLICY,
    FormUpdatingRule,
    GenericFieldModificationRule,
    ModificationLevel,
    SigFieldCreationRule,
    SigFieldModificationRule,
    StandardDiffPolicy,
)
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.pdf_embedded import EmbeddedPdfSignature
from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from trustsvc.codes.identifiers import parse_identifier
from trustsvc.pki.ca import credit_code_of
from trustsvc.seals.fields import NOTE_FIELD, SEAL_FIELD
from trustsvc.verification import reasons as R
from trustsvc.verification.library import Entry, Revocation, RevocationUnavailable
from trustsvc.verification.library_checks import LibraryChecks
from trustsvc.verification.report import Facts, Reason
from trustsvc.verification.validation_data import EmbeddedValidationData

log = logging.getLogger("trustsvc.verification")
_HEADER = re.compile(rb"%PDF-[12]\.[0-9]")


_TRAILING = re.compile(rb"%%EOF[\r\n\s]*\Z")


_CONTENTS_GAP = re.compile(rb"<[0-9A-Fa-f]*>")
#: What pyHanko's difference analysis may find after a seal: validation data and
#: document timestamps; with the service's note, also the signature field it adds.
_UNCHANGED = frozenset({ModificationLevel.LTA_UPDATES})
_WITH_NOTE = frozenset({ModificationLevel.LTA_UPDATES, ModificationLevel.FORM_FILLING})
#: pyHanko's default difference policy, but for a visible signature field after a
#: certification, which its default counts as a change of content (whatever the
#: DocMDP level): used only once the field is known to be the service's sealed note.
_NOTE_POLICY = StandardDiffPolicy(
    global_rules=DEFAULT_DIFF_POLICY.global_rules,
    form_rule=FormUpdatingRule(
        field_rules=[
            SigFieldCreationRule(allow_new_visible_after_certify=True),
            SigFieldModificationRule(),
            GenericFieldModificationRule(),
        ],
    ),
)
#: The purpose in a note's line, as ``annotated_copy.PurposeNote.line`` writes it.
_NOTE_PURPOSE = re.compile(r"仅供(.{1,200}?)使用 · ")


class TimeLimitExceeded(Exception):
    """The verification ran past its time limit (checked between stages)."""


class Deadline:
    """When a verification must have finished, on the monotonic clock (not the injected one)."""

    def __init__(self, limit: timedelta) -> None:
        self._end = time.monotonic() + limit.total_seconds()

    def check(self) -> None:
        if time.monotonic() >= self._end:
            raise TimeLimitExceeded


@dataclass(frozen=True)
class _Seal:
    signature: EmbeddedPdfSignature
    certificate: x509.Certificate
    signed_revision: bytes


@dataclass(frozen=True)
class _Note:
    """The service's own seal over a purpose note after a license's seal (加注件)."""

    line: str
    purpose: str | None

    def on(self, facts: Facts) -> Facts:
        """The license's facts, with what the note says the copy is for."""
        return replace(facts, annotation=self.line, annotation_purpose=self.purpose)


class PdfChecks(LibraryChecks):
    """The checks of a sealed PDF, stage by stage."""

    def _verify(self, pdf: bytes, findings: list[Reason], deadline: Deadline) -> Facts:
        if not pdf:
            findings.append(R.EMPTY)
            return Facts()
        if len(pdf) > self.max_bytes:
            findings.append(R.too_large(self.max_bytes))
            return Facts()
        if not _HEADER.search(pdf[:1024]):
            findings.append(R.NOT_A_PDF)
            return Facts()
        try:
            reader = PdfFileReader(io.BytesIO(pdf), strict=True)
            encrypted = reader.encrypted
            filled_fields = 0 if encrypted else _filled_signature_fields(reader)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - any parser failure on hostile input is malformed input
            findings.append(R.MALFORMED_STRUCTURE)
            return Facts()
        if encrypted:
            findings.append(R.ENCRYPTED)
            return Facts()
        deadline.check()
        try:
            signatures = list(reader.embedded_signatures)
        except RecursionError:
            raise
        except Exception:  # noqa: BLE001 - a signature pyHanko cannot read is no valid seal
            findings.append(R.SIGNATURE_UNREADABLE)
            return self._document_facts(reader)
        if not _TRAILING.search(pdf[-1024:]):
            findings.append(R.BYTES_AFTER_EOF)
        seals = [s for s in signatures if s.sig_object.get("/Type", "/Sig") == "/Sig"]
        if filled_fields > len(signatures):
            # pyHanko skips signatures it does not recognise (an unknown
            # /SubFilter, say): a filled field it could not read is not a seal.
            findings.append(R.SIGNATURE_UNREADABLE)
        if not seals:
            if R.SIGNATURE_UNREADABLE not in findings:
                findings.append(R.NOT_SEALED)
            return self._document_facts(reader)
        note = self._note(reader, pdf, seals) if len(seals) == 2 else None
        if len(seals) > 1 and note is None:
            findings.append(R.FURTHER_SIGNATURES)
        deadline.check()
        seal = self._seal(pdf, seals[0], findings)
        if seal is None:
            return self._document_facts(reader)
        deadline.check()
        status = self._validate(reader, seal, findings, len(pdf), annotated=note is not None)
        deadline.check()
        if self.offline:
            facts = self._check_issuer_offline(reader, seal, status, findings)
            return facts if note is None else note.on(facts)
        # The license this document is, and the seal's revocation: one question.
        record, revocation = self._library().document_entry(
            hashlib.sha256(seal.signed_revision).hexdigest(),
            hashlib.sha256(pdf).hexdigest(),
            seal.certificate.fingerprint(hashes.SHA256()).hex(),
        )
        # Also for imported seals: a revocation recorded here counts whatever their CA says.
        self._check_own_revocation(seal, revocation, findings)
        facts = self._check_issuer_and_library(reader, seal, status, findings, record)
        deadline.check()
        return facts if note is None else note.on(facts)

    def _note(
        self, reader: PdfFileReader, pdf: bytes, seals: list[EmbeddedPdfSignature]
    ) -> _Note | None:
        """The second seal as the service's purpose note, or None when it is anything else.

        Everything after the license's seal is then covered by the service's own
        verification-report seal, which only the service holds: the note is the
        service's word, whatever the license's DocMDP terms say of a later
        signature. Only a note that is itself intact, valid, trusted,
        timestamped and over the whole file counts; anything less is reported
        as the further signature it is.
        """
        second = seals[1]
        if second.field_name != NOTE_FIELD or seals[0].field_name != SEAL_FIELD:
            return None
        checked: list[Reason] = []
        sealed = self._seal(pdf, second, checked)
        if sealed is None or not self._is_report_seal(sealed):
            return None
        status = self._validate(reader, sealed, checked, len(pdf))
        if checked or status is None or status.coverage is not SignatureCoverageLevel.ENTIRE_FILE:
            return None
        line = second.sig_object.get("/Reason")
        if not isinstance(line, str) or not 0 < len(line) <= 1000:
            return None
        found = _NOTE_PURPOSE.match(line)
        return _Note(line, found.group(1) if found else None)

    def _check_issuer_offline(
        self,
        reader: PdfFileReader,
        seal: _Seal,
        status: PdfSignatureStatus | None,
        findings: list[Reason],
    ) -> Facts:
        """Offline: the seal must be the department the document names; no library, no status."""
        sealer_code = credit_code_of(seal.certificate)
        claimed = _claimed_identifier(reader)
        if sealer_code is None or claimed is None or _issuer_of(claimed) != sealer_code:
            findings.append(R.WRONG_ISSUER)
        findings.append(R.OFFLINE_NOT_CHECKED)
        return replace(_seal_facts(seal, status, sealer_code), identifier=claimed)

    def _seal(
        self, pdf: bytes, signature: EmbeddedPdfSignature, findings: list[Reason]
    ) -> _Seal | None:
        try:
            byte_range = [int(v) for v in signature.sig_object["/ByteRange"]]
            certificate = x509.load_der_x509_certificate(signature.signer_cert.dump())
        except Exception:  # noqa: BLE001 - a seal that cannot be read is not a valid seal
            findings.append(R.SIGNATURE_UNREADABLE)
            return None
        if len(byte_range) != 4 or byte_range[0] != 0 or min(byte_range) < 0:
            findings.append(R.BYTE_RANGE_INVALID)
            return None
        end = byte_range[2] + byte_range[3]
        if end > len(pdf) or byte_range[2] <= byte_range[1]:
            findings.append(R.BYTE_RANGE_INVALID)
            return None
        # The one gap in what is signed must be exactly the hex string of
        # /Contents: nothing else may hide there (signature wrapping).
        gap = pdf[byte_range[1] : byte_range[2]]
        if not _CONTENTS_GAP.fullmatch(gap):
            findings.append(R.BYTE_RANGE_INVALID)
            return None
        return _Seal(signature, certificate, pdf[:end])

    def _validation_context(self, reader: PdfFileReader, seal: _Seal) -> ValidationContext:
        """A new context per document (its moment, its answers), from objects parsed once."""
        certificates: list[asn1_x509.Certificate] = []
        ocsps: list[ocsp.OCSPResponse] = []
        crls: list[crl.CertificateList] = []
        # A seal of the service's own PKI without embedded validation data gets
        # its answers from the service itself. (With a DSS, the current state is
        # checked against the library in ``_check_own_revocation``, which costs
        # one query instead of a signed OCSP answer per verification.)
        if "/DSS" in reader.root:
            embedded = EmbeddedValidationData.read(reader, self.parsed_objects)
            certificates.extend(embedded.certificates)
            ocsps.extend(embedded.ocsps)
            crls.extend(embedded.crls)
        elif self._own_seal(seal) and self.library is not None:
            # A fresh answer each time: parsed, not kept. Without one (the
            # database or the responder down) nothing can be decided.
            answer, lists = self.library.revocation_answers(seal.certificate)
            try:
                ocsps.append(ocsp.OCSPResponse.load(answer))
                crls.extend(self.parsed_objects.load(crl.CertificateList, der) for der in lists)
            except Exception as exc:
                raise RevocationUnavailable from exc
        if self._own_seal(seal):
            certificates.extend(self.parsed_objects.certificates(self._own_intermediates))
        return ValidationContext(
            trust_roots=self._roots(),
            other_certs=certificates,
            ocsps=ocsps,
            crls=crls,
            allow_fetching=self.allow_fetching,
            # Offline, revocation after sealing cannot be known (the answer says
            # so); what the document embeds is still checked.
            revocation_mode="soft-fail" if self.offline else "hard-fail",
            # Judge the seal at the time its timestamp proves, as PAdES intends:
            # a seal certificate that expired or was revoked later does not
            # undo what was sealed before.
            moment=_claimed_timestamp(seal.signature),
        )

    def _own_seal(self, seal: _Seal) -> bool:
        return seal.certificate.issuer == self.trust.issuing.subject

    def _check_own_revocation(
        self, seal: _Seal, revocation: Revocation | None, findings: list[Reason]
    ) -> None:
        """The library's own record: was this seal's key unfit at the time its timestamp proves?

        The same rule as for tokens (``_Revocation.refuses``): after a key
        compromise, a seal timestamped at or after the invalidity date is
        refused (every seal when no date was given); after any other
        revocation, one timestamped at or after the revocation.
        """
        moment = _claimed_timestamp(seal.signature)
        if revocation is not None and revocation.refuses(moment):
            findings.append(R.SEAL_REVOKED)

    def _validate(
        self,
        reader: PdfFileReader,
        seal: _Seal,
        findings: list[Reason],
        file_length: int,
        *,
        annotated: bool = False,
    ) -> PdfSignatureStatus | None:
        """pyHanko's validation of ``seal``, and what this service asks beyond it.

        ``annotated``: the one revision after the seal is the service's own
        sealed purpose note (``_note``), a signature field and nothing else, which
        pyHanko's analysis places at form filling and, for licenses certified
        with P=1, outside their DocMDP terms.
        """
        if not self.trust_roots:
            findings.append(R.NO_TRUST_ANCHORS)
            return None
        allowed = _WITH_NOTE if annotated else _UNCHANGED
        try:
            status = validate_pdf_signature(
                seal.signature,
                self._validation_context(reader, seal),
                diff_policy=_NOTE_POLICY if annotated else None,
            )
        except Exception:
            log.info("seal validation raised", exc_info=True)
            findings.append(R.SIGNATURE_NOT_EVALUABLE)
            return None
        if not status.intact or not status.valid:
            findings.append(R.SIGNATURE_BROKEN)
        signed_to_the_end = len(seal.signed_revision) == file_length
        if status.coverage is SignatureCoverageLevel.ENTIRE_FILE:
            if not signed_to_the_end:
                # pyHanko can be led to report the whole file covered when it is
                # not (a signature dictionary redefined later, sized to fit) and
                # then skips its analysis of what changed: trust the byte range.
                findings.append(R.CHANGED_AFTER_SEALING)
        elif status.coverage is SignatureCoverageLevel.ENTIRE_REVISION:
            # After the sealed revision only validation data and document
            # timestamps may follow (and a note, the service's own sealed
            # signature): nothing else, not even an empty update.
            if status.modification_level not in allowed or _idle_revisions(
                reader, seal.signature.signed_revision
            ):
                findings.append(R.CHANGED_AFTER_SEALING)
        else:
            findings.append(R.NOT_COVERED)
        if status.modification_level is None or status.modification_level > max(allowed):
            findings.append(R.CHANGED_AFTER_SEALING)
        if not status.docmdp_ok and not annotated:
            findings.append(R.CHANGED_AFTER_SEALING)
        if not status.trusted:
            findings.append(self._trust_reason(status, seal))
        timestamp = status.timestamp_validity
        if timestamp is None:
            findings.append(R.NO_TIMESTAMP)
        elif not (timestamp.intact and timestamp.valid):
            findings.append(R.TIMESTAMP_BROKEN)
        elif not timestamp.trusted:
            findings.append(R.TIMESTAMP_UNTRUSTED)
        return status

    def _trust_reason(self, status: PdfSignatureStatus, seal: _Seal) -> Reason:
        """Why pyHanko does not trust the seal; "cannot know the revocation" is no verdict on it.

        pyHanko reports missing revocation answers as a general chain failure
        (or "try later" when they are stale); when the chain itself is sound,
        what failed is the revocation source.
        """
        reason = _trust_reason(status)
        if reason is not R.UNTRUSTED_CHAIN:
            return reason
        indication = status.trust_problem_indic
        if indication is AdESIndeterminate.TRY_LATER:
            return R.REVOCATION_UNAVAILABLE
        fingerprint = seal.certificate.fingerprint(hashes.SHA256())
        if indication is AdESIndeterminate.CERTIFICATE_CHAIN_GENERAL_FAILURE and (
            self._chain_is_sound(seal.certificate, fingerprint)
        ):
            return R.REVOCATION_UNAVAILABLE
        return reason

    def _check_issuer_and_library(
        self,
        reader: PdfFileReader,
        seal: _Seal,
        status: PdfSignatureStatus | None,
        findings: list[Reason],
        record: Entry | None,
    ) -> Facts:
        """``record``: the license the sealed revision is (or, for records made before
        its digest was kept, the whole file), as the library answered."""
        sealer_code = credit_code_of(seal.certificate)
        facts = _seal_facts(seal, status, sealer_code)
        claimed = _claimed_identifier(reader)
        today = self._today()
        lookup = self._library()
        if record is None and self._is_report_seal(seal):
            # The service's own report names the license it is about; it is not that license.
            findings.append(R.VERIFICATION_REPORT)
            return facts
        if record is None and claimed is not None:
            claimed_record = lookup.entry_by_identifier(claimed)
            if claimed_record is not None:
                # A document naming a license of the library, but not the one issued.
                if claimed_record.issuer_code != sealer_code:
                    findings.append(R.WRONG_ISSUER)
                else:
                    findings.append(R.NOT_THE_ISSUED_DOCUMENT)
                return facts
        if record is None:
            # Not ours: the document itself says who should have sealed it.
            if sealer_code is None or (claimed is not None and _issuer_of(claimed) != sealer_code):
                findings.append(R.WRONG_ISSUER)
            else:
                if claimed is not None:
                    # As of the time the seal's timestamp claims (checked with the seal).
                    sealed_at = _claimed_timestamp(seal.signature) or self.trust.clock.now()
                    type_code = parse_identifier(claimed).type_code
                    self._check_entitlement(type_code, sealer_code, sealed_at, findings)
                findings.append(R.UNKNOWN_TO_LIBRARY)
            return replace(facts, identifier=claimed)
        if not record.log_bound:
            return self._altered(facts, record, findings)
        if record.issuer_code != sealer_code or record.seal_serial_hex != format(
            seal.certificate.serial_number, "x"
        ):
            findings.append(R.WRONG_ISSUER)
        elif sealer_code is not None:
            self._check_library_entitlement(record, sealer_code, findings)
        return self._check_status(facts, record, today, findings)

    def _is_report_seal(self, seal: _Seal) -> bool:
        """Whether the seal is the service's verification-report seal: one query online;
        offline, among the report seals the trust material names (the home's files)."""
        if not self._own_seal(seal):
            return False
        fingerprint = seal.certificate.fingerprint(hashes.SHA256()).hex()
        if self.offline:
            return fingerprint in self.trust.report_seals
        return self._library().is_report_seal(fingerprint)

    def _document_facts(self, reader: PdfFileReader) -> Facts:
        return Facts(identifier=_claimed_identifier(reader))


def _claimed_timestamp(signature: EmbeddedPdfSignature) -> datetime | None:
    """The time the seal's timestamp token states (checked later, with the token)."""
    try:
        attributes = signature.signer_info["unsigned_attrs"]
        for attribute in attributes:
            if attribute["type"].native == "signature_time_stamp_token":
                token: cms.ContentInfo = attribute["values"][0]
                moment: datetime = (
                    token["content"]["encap_content_info"]["content"].parsed["gen_time"].native
                )
                return moment
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return None


def _idle_revisions(reader: PdfFileReader, signed_revision: int) -> bool:
    """Whether a revision after the seal updates no object that existed before it.

    A DSS or a document timestamp always updates an existing object (the
    catalog, the form, a page); an empty update, or one adding only objects
    nothing refers to, passes pyHanko's analysis but is not validation data.
    """
    xrefs = reader.xrefs
    for revision in range(signed_revision + 1, xrefs.total_revisions):
        previous_size = xrefs.get_xref_container_info(revision - 1).size
        changed = xrefs.explicit_refs_in_revision(revision)
        if not any(ref.idnum < previous_size for ref in changed):
            return True
    return False


def _filled_signature_fields(reader: PdfFileReader) -> int:
    """How many signature fields hold a value, whatever pyHanko makes of them."""
    return sum(1 for _field in enumerate_sig_fields(reader, filled_status=True))


def _claimed_identifier(reader: PdfFileReader) -> str | None:
    """The GB/T 36904 identifier the document names (in /Keywords), if it is one."""
    try:
        keywords = str(reader.trailer_view["/Info"].get("/Keywords", ""))
        return str(parse_identifier(keywords.strip()))
    except Exception:  # noqa: BLE001 - a document without a usable identifier simply names none
        return None


def _issuer_of(identifier: str | None) -> str | None:
    return parse_identifier(identifier).issuer_code if identifier else None


#: pyHanko's sub-indications (ETSI EN 319 102-1) that mean the seal certificate was out
#: of its validity at the time judged, and those that mean it (or its CA) was revoked.
OUT_OF_VALIDITY: frozenset[AdESSubIndic] = frozenset(
    {
        AdESIndeterminate.EXPIRED,
        AdESIndeterminate.NOT_YET_VALID,
        AdESFailure.NOT_YET_VALID,
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
        AdESIndeterminate.REVOCATION_OUT_OF_BOUNDS_NO_POE,
    }
)


REVOKED: frozenset[AdESSubIndic] = frozenset(
    {AdESFailure.REVOKED, AdESIndeterminate.REVOKED_NO_POE, AdESIndeterminate.REVOKED_CA_NO_POE}
)


def _trust_reason(status: PdfSignatureStatus) -> Reason:
    if status.revoked:
        return R.SEAL_REVOKED
    return trust_reason_of(status.trust_problem_indic)


def trust_reason_of(indication: AdESSubIndic | None) -> Reason:
    """The reason for an untrusted seal, by pyHanko's sub-indication (compared, not read)."""
    if indication in OUT_OF_VALIDITY:
        return R.SEAL_EXPIRED
    if indication in REVOKED:
        return R.SEAL_REVOKED
    return R.UNTRUSTED_CHAIN


def _seal_facts(seal: _Seal, status: PdfSignatureStatus | None, sealer_code: str | None) -> Facts:
    organisation = seal.certificate.subject.get_attributes_for_oid(x509.NameOID.ORGANIZATION_NAME)
    timestamp = status.timestamp_validity if status else None
    tsa = None
    if timestamp is not None:
        try:
            tsa = timestamp.signing_cert.subject.human_friendly
        except AttributeError:
            tsa = None
    return Facts(
        issuer_name=str(organisation[0].value) if organisation else None,
        issuer_code=sealer_code,
        seal_subject=seal.certificate.subject.rfc4514_string(),
        seal_serial=format(seal.certificate.serial_number, "x"),
        signing_time=timestamp.timestamp if timestamp is not None else None,
        timestamp_authority=tsa,
    )
