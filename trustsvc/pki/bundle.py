"""The trust bundle: the service's CAs and every seal certificate with its status, signed.

An offline verifier (``verify-token --offline --trust-bundle FILE``, or a third
party's own code) keeps itself up to date from ``/pki/trust-bundle``. The
bundle is a CMS SignedData (RFC 5652, DER, content type id-data, the content
encapsulated) over a JSON document (docs/trust-bundle.md), signed by the
dedicated trust-list signer the issuing CA certified for that purpose alone
(EKU id-tsl-kp-tslSigning, ETSI TS 119 612), so no CA key signs anything but
certificates and CRLs. ``openssl cms -verify -purpose any -CAfile root.pem``
checks it.

Its version is the number of events that changed it: one per certificate
recorded (issued or imported) and one per revocation. Certificates are never
deleted and a revocation is never undone, so the version only grows, and two
nodes over one database publish the same version for the same contents.
"""

from __future__ import annotations

import base64
import json
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from sqlalchemy import func, select

from trustsvc.db import Database
from trustsvc.db.models import REPORT_SEAL_PURPOSE, CertificateRecord, CertificateRole
from trustsvc.errors import InvalidInputError, PkiError
from trustsvc.pki.ca import TSL_SIGNING
from trustsvc.pki.certificates import seal_key_id
from trustsvc.pki.home import TRUST_LIST, Pki

#: What the bundle's ``profile`` member says; a later format changes it.
PROFILE = "trustsvc-trust-bundle/1"
MEDIA_TYPE = "application/pkcs7-mime; smime-type=signed-data"
#: A bundle file larger than this is not one of ours (tens of thousands of seals fit).
MAX_BUNDLE_BYTES = 64 * 1024 * 1024
#: The certificates a bundle lists, by role.
_ROLES = (
    CertificateRole.ROOT_CA,
    CertificateRole.ISSUING_CA,
    CertificateRole.EXTERNAL_CA,
    CertificateRole.TRUST_ANCHOR,
    CertificateRole.SEAL,
)


class TrustBundleUnavailableError(PkiError):
    """The home has no trust bundle signer yet."""

    code = "trust-bundle-unavailable"


class InvalidTrustBundleError(InvalidInputError):
    code = "invalid-trust-bundle"


def _moment(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _entry(record: CertificateRecord) -> dict[str, Any]:
    certificate = x509.load_der_x509_certificate(record.der)
    return {
        "role": record.role.value,
        "kid": seal_key_id(certificate).hex(),
        "sha256": record.fingerprint_sha256,
        "subject": record.subject,
        "certificate": base64.b64encode(record.der).decode("ascii"),
        "status": "revoked" if record.revoked_at is not None else "good",
        "revoked_at": _moment(record.revoked_at),
        "revocation_reason": record.revocation_reason if record.revoked_at else None,
        "invalidity_date": _moment(record.invalidity_date),
        # The service's own verification-report seal (its word on a 加注件's note), or null.
        "purpose": REPORT_SEAL_PURPOSE if record.purpose == REPORT_SEAL_PURPOSE else None,
    }


def bundle_version(database: Database) -> int:
    """How many certificate recordings and revocations the bundle's contents have seen."""
    with database.begin() as session:
        recorded, revoked = session.execute(
            select(func.count(), func.count(CertificateRecord.revoked_at)).where(
                CertificateRecord.role.in_(_ROLES)
            )
        ).one()
    return int(recorded) + int(revoked)


def bundle_document(database: Database, now: datetime, service_url: str) -> tuple[int, bytes]:
    """The bundle's version and its JSON document (sorted keys, no white space, UTF-8)."""
    with database.begin() as session:
        records = session.scalars(
            select(CertificateRecord)
            .where(CertificateRecord.role.in_(_ROLES))
            .order_by(CertificateRecord.id)
        ).all()
        entries = [_entry(record) for record in records]
        version = len(records) + sum(1 for record in records if record.revoked_at is not None)
    document = {
        "profile": PROFILE,
        "version": version,
        "issued_at": _moment(now),
        "service": service_url,
        "certificates": entries,
    }
    encoded = json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return version, encoded.encode("utf-8")


def sign_bundle(pki: Pki, document: bytes) -> bytes:
    """CMS SignedData (DER) over ``document``, with the signer's and issuing CA's certificates."""
    signer = pki.trust_list
    if signer is None:
        raise TrustBundleUnavailableError(
            "the trust bundle is not available: this home has no trust bundle signer "
            "(run `trustsvc trust-bundle-signer`)"
        )
    key = pki.key(TRUST_LIST)
    signed: bytes = (
        pkcs7.PKCS7SignatureBuilder()
        .set_data(document)
        .add_signer(signer, key, hashes.SHA256())
        .add_certificate(pki.issuing)
        .sign(serialization.Encoding.DER, [pkcs7.PKCS7Options.Binary])
    )
    return signed


class TrustBundles:
    """The current signed bundle, re-made only when its version changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._current: tuple[int, bytes] | None = None

    def current(self, database: Database, pki: Pki, now: datetime, service_url: str) -> bytes:
        version = bundle_version(database)
        with self._lock:
            if self._current is not None and self._current[0] == version:
                return self._current[1]
        made_version, document = bundle_document(database, now, service_url)
        signed = sign_bundle(pki, document)
        with self._lock:
            self._current = (made_version, signed)
        return signed


# ---- reading a bundle (the offline verifier's side) -------------------------------------


@dataclass(frozen=True)
class BundledCertificate:
    role: str
    kid: bytes
    certificate: x509.Certificate
    revoked_at: datetime | None
    revocation_reason: str | None
    invalidity_date: datetime | None
    #: ``verification_report`` for the service's report seal; None for any other.
    purpose: str | None = None

    @property
    def is_report_seal(self) -> bool:
        return self.role == CertificateRole.SEAL.value and self.purpose == REPORT_SEAL_PURPOSE

    def refuses(self, signed_at: datetime | None) -> bool:
        """Whether a token signed at ``signed_at`` (None: undatable) is refused by its status.

        The library's rule (README, seal revocation): a compromised key is unfit
        since its invalidity date, or since ever without one; any other
        revocation counts from its time; what cannot be dated is refused.
        """
        if self.revoked_at is None:
            return False
        if self.revocation_reason == "key_compromise":
            if self.invalidity_date is None:
                return True
            cut = self.invalidity_date
        else:
            cut = self.revoked_at
        return signed_at is None or signed_at >= cut


@dataclass(frozen=True)
class TrustBundle:
    version: int
    issued_at: datetime
    signer: x509.Certificate
    certificates: tuple[BundledCertificate, ...]

    @property
    def report_seals(self) -> frozenset[str]:
        """SHA-256 fingerprints (hex) of the service's report seals: whose 加注件 notes count."""
        return frozenset(
            entry.certificate.fingerprint(hashes.SHA256()).hex()
            for entry in self.certificates
            if entry.is_report_seal
        )

    def seal(self, kid: bytes) -> BundledCertificate | None:
        for entry in self.certificates:
            if entry.role == CertificateRole.SEAL.value and entry.kid == kid:
                return entry
        return None


def read_bundle(data: bytes, root: x509.Certificate, now: datetime) -> TrustBundle:
    """A bundle whose signature verifies, by a signer certified under ``root``; else refused."""
    if len(data) > MAX_BUNDLE_BYTES:
        raise InvalidTrustBundleError("trust bundle is too large")
    try:
        info = cms.ContentInfo.load(data, strict=True)
        if info["content_type"].native != "signed_data":
            raise InvalidTrustBundleError("trust bundle is not a CMS SignedData")
        signed = info["content"]
        content = signed["encap_content_info"]["content"].native
        certificates = [
            x509.load_der_x509_certificate(choice.chosen.dump())
            for choice in signed["certificates"]
        ]
        (signer_info,) = signed["signer_infos"]
        attributes = signer_info["signed_attrs"]
        serial = signer_info["sid"].chosen["serial_number"].native
        signature = signer_info["signature"].native
        digest = next(
            a["values"][0].native for a in attributes if a["type"].native == "message_digest"
        )
        signed_bytes = attributes.untag().dump()
    except InvalidTrustBundleError:
        raise
    except (ValueError, TypeError, KeyError, StopIteration) as exc:
        raise InvalidTrustBundleError("trust bundle is not a readable CMS SignedData") from exc
    if not isinstance(content, bytes):
        raise InvalidTrustBundleError("trust bundle carries no content")
    hasher = hashes.Hash(hashes.SHA256())
    hasher.update(content)
    if hasher.finalize() != digest:
        raise InvalidTrustBundleError("trust bundle content does not match its signature")
    signer = next((c for c in certificates if c.serial_number == serial), None)
    issuing = next((c for c in certificates if c is not signer), None)
    if signer is None or issuing is None:
        raise InvalidTrustBundleError("trust bundle lacks its signer's certificates")
    _check_signer(signer, issuing, root, now)
    _check_signature(signer, signature, signed_bytes)
    return _parsed(content, signer)


def _check_signer(
    signer: x509.Certificate, issuing: x509.Certificate, root: x509.Certificate, now: datetime
) -> None:
    try:
        issuing.verify_directly_issued_by(root)
        signer.verify_directly_issued_by(issuing)
        purposes = signer.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound) as exc:
        raise InvalidTrustBundleError("trust bundle signer is not certified by the root") from exc
    if TSL_SIGNING not in purposes:
        raise InvalidTrustBundleError("trust bundle signer is not a trust-list signer")
    for certificate in (signer, issuing):
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc:
            raise InvalidTrustBundleError("trust bundle signer's certificate is not valid now")


def _check_signature(signer: x509.Certificate, signature: bytes, signed_bytes: bytes) -> None:
    key = signer.public_key()
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, signed_bytes, ec.ECDSA(hashes.SHA256()))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, signed_bytes, padding.PKCS1v15(), hashes.SHA256())
        else:
            raise InvalidTrustBundleError("trust bundle signer has an unsupported key")
    except InvalidSignature as exc:
        raise InvalidTrustBundleError("trust bundle signature does not verify") from exc


def _time(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidTrustBundleError("trust bundle has a malformed time")
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise InvalidTrustBundleError("trust bundle has a time without a zone")
    return moment


def _text_or_none(value: object) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidTrustBundleError("trust bundle has a malformed purpose")
    return value


def _parsed(content: bytes, signer: x509.Certificate) -> TrustBundle:
    try:
        document = json.loads(content)
        if document.get("profile") != PROFILE:
            raise InvalidTrustBundleError("trust bundle has an unknown profile")
        entries = tuple(
            BundledCertificate(
                role=str(entry["role"]),
                kid=bytes.fromhex(entry["kid"]),
                certificate=x509.load_der_x509_certificate(
                    base64.b64decode(entry["certificate"], validate=True)
                ),
                revoked_at=_time(entry["revoked_at"]),
                revocation_reason=entry["revocation_reason"],
                invalidity_date=_time(entry["invalidity_date"]),
                # Absent from bundles made before report seals were marked.
                purpose=_text_or_none(entry.get("purpose")),
            )
            for entry in document["certificates"]
        )
        if any(seal_key_id(entry.certificate) != entry.kid for entry in entries):
            raise InvalidTrustBundleError("trust bundle names a certificate by another key id")
        issued_at = _time(document["issued_at"])
        version = document["version"]
    except InvalidTrustBundleError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise InvalidTrustBundleError("trust bundle document is malformed") from exc
    if not isinstance(version, int) or issued_at is None:
        raise InvalidTrustBundleError("trust bundle document is malformed")
    return TrustBundle(version, issued_at, signer, entries)
