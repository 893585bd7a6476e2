"""Revocation status of the service's certificates: CRLs (RFC 5280 §5) and OCSP (RFC 6960).

The database is the source of truth: a certificate is revoked when its record
says so. CRLs are issued on demand and kept, so that their numbers only grow
and every service node publishes the same one; a new CRL is issued when a
revocation happened after the last one, or when half its lifetime has passed.
OCSP answers are signed by the delegated responder certificate for the
issuing CA's certificates (the department seals). A key compromise may come
with the time the key became unfit: the CRL entry carries it as
invalidityDate (RFC 5280 §5.3.2), and so does the OCSP single response
(RFC 6960 §4.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from asn1crypto import core
from asn1crypto import keys as asn1_keys
from asn1crypto import ocsp as asn1_ocsp
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import CertificateRecord, CrlRecord
from trustsvc.errors import InvalidInputError, NotFoundError
from trustsvc.pki.certificates import find_issued
from trustsvc.pki.home import CERTIFICATE_AUTHORITIES, Pki, PkiName
from trustsvc.pki.keystore import SigningKey
from trustsvc.pki.responder import OcspResponder

#: RFC 5280 reason codes offered to operators, by their CLI / API spelling.
REASONS: dict[str, x509.ReasonFlags] = {
    "unspecified": x509.ReasonFlags.unspecified,
    "key_compromise": x509.ReasonFlags.key_compromise,
    "ca_compromise": x509.ReasonFlags.ca_compromise,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "superseded": x509.ReasonFlags.superseded,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
}


#: An OCSPRequest for one certificate is about 100 bytes, a few hundred with
#: extensions; anything larger is refused before it is parsed.
MAX_OCSP_REQUEST_BYTES = 4096
#: RFC 8954 §2.1: a nonce is 1 to 32 octets; longer ones are refused.
MAX_OCSP_NONCE_BYTES = 32
#: RFC 5280 §4.1.2.2: serial numbers are at most 20 octets.
_MAX_SERIAL_BITS = 160
_MAX_OCSP_EXTENSIONS = 8


def parse_reason(reason: str) -> x509.ReasonFlags:
    try:
        return REASONS[reason]
    except KeyError:
        raise InvalidInputError(
            f"unknown revocation reason {reason!r}; use one of: {', '.join(REASONS)}"
        ) from None


class RevocationService:
    def __init__(
        self,
        database: Database,
        pki: Pki,
        clock: Clock,
        crl_lifetime: timedelta,
        ocsp_lifetime: timedelta,
    ) -> None:
        self.database = database
        self.pki = pki
        self.clock = clock
        self.crl_lifetime = crl_lifetime
        self.ocsp_lifetime = ocsp_lifetime
        #: Signs the answers; short-lived and renewed (RFC 6960 §4.2.2.2.1).
        self.responder = OcspResponder(database, pki, clock)

    # ---- CRL -------------------------------------------------------------

    def current_crl(self, ca: str) -> bytes:
        """DER of the CRL now in force for ``ca``, issuing a new one when due."""
        if ca not in CERTIFICATE_AUTHORITIES:
            raise NotFoundError(f"no CRL for {ca!r}; CAs are: {', '.join(CERTIFICATE_AUTHORITIES)}")
        for _attempt in range(3):
            now = self.clock.now()
            with self.database.begin() as session:
                latest = session.scalar(
                    select(CrlRecord).where(CrlRecord.ca == ca).order_by(CrlRecord.number.desc())
                )
                last_revocation = session.scalar(
                    select(func.max(CertificateRecord.revoked_at)).where(
                        CertificateRecord.issuer_ca == ca
                    )
                )
                if latest is not None and not self._crl_due(latest, last_revocation, now):
                    return latest.der
                number = 1 if latest is None else latest.number + 1
                revoked = session.scalars(
                    select(CertificateRecord).where(
                        CertificateRecord.issuer_ca == ca, CertificateRecord.revoked_at.is_not(None)
                    )
                ).all()
                der = self._sign_crl(ca, number, revoked, now)
                session.add(
                    CrlRecord(
                        ca=ca,
                        number=number,
                        this_update=now,
                        next_update=now + self.crl_lifetime,
                        der=der,
                    )
                )
                try:
                    session.flush()
                except IntegrityError:
                    # Another node issued this number first: read again.
                    session.rollback()
                    continue
                return der
        raise NotFoundError(f"could not settle the CRL number for {ca!r}; try again")

    def _crl_due(self, latest: CrlRecord, last_revocation: datetime | None, now: datetime) -> bool:
        if last_revocation is not None and last_revocation >= latest.this_update:
            return True
        return now >= latest.this_update + self.crl_lifetime / 2

    def _sign_crl(
        self, ca: str, number: int, revoked: Sequence[CertificateRecord], now: datetime
    ) -> bytes:
        issuer = self.pki.certificates[ca]
        ski = issuer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(issuer.subject)
            .last_update(now)
            .next_update(now + self.crl_lifetime)
            .add_extension(x509.CRLNumber(number), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
        )
        for record in revoked:
            assert record.revoked_at is not None
            entry = (
                x509.RevokedCertificateBuilder()
                .serial_number(int(record.serial_hex, 16))
                .revocation_date(record.revoked_at)
            )
            reason = REASONS.get(record.revocation_reason or "unspecified")
            if reason is not None and reason is not x509.ReasonFlags.unspecified:
                entry = entry.add_extension(x509.CRLReason(reason), critical=False)
            if record.invalidity_date is not None:
                # RFC 5280 §5.3.2: since when the key is unfit, before the revocation.
                entry = entry.add_extension(
                    x509.InvalidityDate(record.invalidity_date), critical=False
                )
            builder = builder.add_revoked_certificate(entry.build())
        crl = builder.sign(self.pki.key(ca), hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.DER)

    # ---- OCSP ------------------------------------------------------------

    def ocsp_for(self, certificate: x509.Certificate) -> bytes:
        """The responder's answer for one of the issuing CA's certificates (in-process)."""
        request = ocsp.OCSPRequestBuilder().add_certificate(
            certificate, self.pki.issuing, hashes.SHA256()
        )
        return self.ocsp_response(request.build().public_bytes(serialization.Encoding.DER))

    def ocsp_response(self, request_der: bytes) -> bytes:
        """Answer one DER OCSP request; malformed or foreign requests get an error status.

        Bounded before parsing; parsed strictly (cryptography's DER parser: no
        trailing bytes, definite lengths, exactly one certificate asked for);
        a nonce of 1 to 32 octets (RFC 8954), no unknown critical extension
        (RFC 6960 §4.4), few extensions. Otherwise malformedRequest.
        """
        if len(request_der) > MAX_OCSP_REQUEST_BYTES:
            return _error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            request_hash = request.hash_algorithm
            serial_number = request.serial_number
            extensions = list(request.extensions)
        except (ValueError, UnsupportedAlgorithm):
            return _error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        if not _acceptable_request(serial_number, extensions):
            return _error(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        issuing = self.pki.issuing
        if not _names_issuer(request, issuing, request_hash):
            # We answer for the issuing CA only; the root's subjects are covered by its CRL.
            return _error(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        with self.database.begin() as session:
            record = find_issued(session, PkiName.ISSUING, serial_number)
            revoked_at = record.revoked_at if record else None
            reason_name = record.revocation_reason if record else None
            invalidity_date = record.invalidity_date if record and revoked_at else None
        now = self.clock.now()
        if record is None:
            status = ocsp.OCSPCertStatus.UNKNOWN
        elif revoked_at is not None:
            status = ocsp.OCSPCertStatus.REVOKED
        else:
            status = ocsp.OCSPCertStatus.GOOD
        reason = REASONS.get(reason_name or "unspecified") if revoked_at else None
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash,
            issuer_key_hash=request.issuer_key_hash,
            serial_number=serial_number,
            algorithm=request_hash,
            cert_status=status,
            this_update=now,
            next_update=now + self.ocsp_lifetime,
            revocation_time=revoked_at,
            revocation_reason=reason,
        )
        responder, responder_key = self.responder.current()
        builder = builder.responder_id(ocsp.OCSPResponderEncoding.HASH, responder).certificates(
            [responder]
        )
        for extension in extensions:
            if isinstance(extension.value, x509.OCSPNonce):
                builder = builder.add_extension(extension.value, critical=False)
        response = builder.sign(responder_key, hashes.SHA256())
        der = response.public_bytes(serialization.Encoding.DER)
        if invalidity_date is not None:
            der = _with_invalidity_date(der, invalidity_date, responder_key)
        return der


def _acceptable_request(serial_number: int, extensions: list[x509.Extension[Any]]) -> bool:
    if abs(serial_number).bit_length() > _MAX_SERIAL_BITS:
        return False
    if len(extensions) > _MAX_OCSP_EXTENSIONS:
        return False
    for extension in extensions:
        if isinstance(extension.value, x509.OCSPNonce):
            if not 1 <= len(extension.value.nonce) <= MAX_OCSP_NONCE_BYTES:
                return False
        elif extension.critical:
            return False
    return True


def _names_issuer(
    request: ocsp.OCSPRequest, issuer: x509.Certificate, algorithm: hashes.HashAlgorithm
) -> bool:
    name_hash = hashes.Hash(algorithm)
    name_hash.update(issuer.subject.public_bytes())
    spki = issuer.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # The key hash is over the subjectPublicKey BIT STRING contents, not the whole SPKI.
    key_bits = asn1_keys.PublicKeyInfo.load(spki)["public_key"].contents[1:]
    key_hash = hashes.Hash(algorithm)
    key_hash.update(key_bits)
    return (
        name_hash.finalize() == request.issuer_name_hash
        and key_hash.finalize() == request.issuer_key_hash
    )


def _with_invalidity_date(response_der: bytes, invalidity_date: datetime, key: SigningKey) -> bytes:
    """The answer with invalidityDate in its single response (RFC 6960 §4.4), signed again.

    cryptography builds only response-level extensions; the single
    response's are added here and the response data signed anew with the
    responder key, the same algorithm as cryptography's (PKCS#1 v1.5 or ECDSA).
    """
    response = asn1_ocsp.OCSPResponse.load(response_der)
    basic = response["response_bytes"]["response"].parsed
    tbs = basic["tbs_response_data"]
    tbs["responses"][0]["single_extensions"] = [
        {
            "extn_id": "invalidity_date",
            "critical": False,
            "extn_value": core.GeneralizedTime(invalidity_date),
        }
    ]
    to_be_signed = tbs.dump(force=True)
    if isinstance(key, ec.EllipticCurvePrivateKey):
        signature = key.sign(to_be_signed, ec.ECDSA(hashes.SHA256()))
    elif isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(to_be_signed, padding.PKCS1v15(), hashes.SHA256())
    else:
        raise TypeError(f"OCSP responder key of type {type(key).__name__} is not supported")
    basic["signature"] = signature
    answer = asn1_ocsp.OCSPResponse(
        {
            "response_status": "successful",
            "response_bytes": {"response_type": "basic_ocsp_response", "response": basic},
        }
    )
    der: bytes = answer.dump(force=True)
    return der


def _error(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(
        serialization.Encoding.DER
    )
