"""The built-in RFC 3161 timestamp authority, and the timestamper sealing uses.

The authority answers ``TimeStampReq`` messages: SHA-256/384/512 imprints of
the right length, an optional nonce echoed back, certReq honoured (the TSA
certificate is included only when asked), one policy. The token is CMS
SignedData over TSTInfo with ESS signingCertificateV2 (RFC 5816).

pyHanko's own ``DummyTimeStamper`` is a test device (RSA only, certReq
ignored, the key re-read for every token), hence this module.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC
from typing import ClassVar
from urllib.parse import urlsplit, urlunsplit

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper
from pyhanko.sign.timestamps.common_utils import TimestampRequestError

from trustsvc.clock import Clock
from trustsvc.errors import TimestampUnavailableError
from trustsvc.pki import der
from trustsvc.pki.keystore import SigningKey
from trustsvc.settings import DOCUMENTATION_OID_ARC

#: Policy under which the built-in TSA issues tokens when none is given: under
#: RFC 5612's documentation arc, a placeholder (the service passes
#: ``Settings.tsa_policy``, under the operator's TRUSTSVC_OID_ARC). Tokens made
#: before carry 1.3.6.1.4.1.61002.1.1, a number that was never ours; verification
#: does not judge the TSA policy, so they still verify.
DEFAULT_POLICY = f"{DOCUMENTATION_OID_ARC}.2.1"

_IMPRINT_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64}
#: A TimeStampReq is about 60 bytes, a few hundred with a policy and extensions;
#: anything larger is refused before it is parsed.
MAX_REQUEST_BYTES = 4096
#: Nonces are 64 to 160 bits in practice (RFC 3161 §2.4.1 sets no bound; this one
#: keeps what is echoed into every token small).
MAX_NONCE_BITS = 256


class TimestampAuthority:
    def __init__(
        self,
        certificate: x509.Certificate,
        key: SigningKey,
        clock: Clock,
        policy: str = DEFAULT_POLICY,
    ) -> None:
        self.certificate = asn1_x509.Certificate.load(
            certificate.public_bytes(serialization.Encoding.DER)
        )
        self.key = key
        self.clock = clock
        self.policy = policy
        self._template = _Template.for_certificate(self.certificate, key, policy)
        self._granted = tsp.PKIStatusInfo({"status": "granted"}).dump()

    def respond(self, request_der: bytes) -> bytes:
        """DER TimeStampResp for a DER TimeStampReq; never raises on bad input.

        The request is bounded in size, then parsed strictly: exactly one
        TimeStampReq (no trailing bytes), in DER (definite lengths, minimal
        encodings; re-encoding it must give the same bytes), version 1, a
        bounded nonce. Anything else is a rejection with badDataFormat.
        """
        if len(request_der) > MAX_REQUEST_BYTES:
            return _rejection(
                "bad_data_format", f"a TimeStampReq is at most {MAX_REQUEST_BYTES} bytes"
            )
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            version = request["version"].native
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            hashed = imprint["hashed_message"].native
            requested_policy = request["req_policy"].native
            extensions = request["extensions"].native
            nonce = request["nonce"].native
            cert_req = bool(request["cert_req"].native)
            canonical = request.dump(force=True) == request_der
        except (ValueError, TypeError, KeyError, OverflowError, RecursionError):
            return _rejection("bad_data_format", "request is not a DER TimeStampReq")
        if not canonical:
            return _rejection("bad_data_format", "request is not in DER (RFC 3161 §2.4.1)")
        if version not in ("v1", 1):  # asn1crypto names version 1 "v1"
            return _rejection("bad_data_format", "only version 1 TimeStampReq is understood")
        if nonce is not None and abs(nonce).bit_length() > MAX_NONCE_BITS:
            return _rejection("bad_data_format", f"the nonce is longer than {MAX_NONCE_BITS} bits")
        if algorithm not in _IMPRINT_LENGTHS:
            return _rejection("bad_alg", f"hash algorithm {algorithm} is not accepted")
        if not isinstance(hashed, bytes) or len(hashed) != _IMPRINT_LENGTHS[algorithm]:
            return _rejection("bad_data_format", "imprint length does not match its algorithm")
        if requested_policy is not None and requested_policy != self.policy:
            return _rejection("unaccepted_policy", f"only policy {self.policy} is offered")
        if extensions:
            return _rejection("unaccepted_extension", "no request extensions are supported")
        token = self._token(imprint, nonce, cert_req)
        return der.tlv(der.SEQUENCE, self._granted + token)

    def _token(self, imprint: tsp.MessageImprint, nonce: int | None, cert_req: bool) -> bytes:
        """DER of the token (a CMS ContentInfo), assembled from pre-encoded parts.

        Everything but the imprint, serial, times, nonce, digest and signature is
        the same for every token and was DER-encoded once by asn1crypto in
        ``_Template``; building the whole structure through asn1crypto per token
        cost about 7 ms, most of the time of a seal.
        """
        now = self.clock.now().astimezone(UTC)
        template = self._template
        tst_info = der.tlv(
            der.SEQUENCE,
            template.version_1
            + template.policy
            + imprint.dump()
            + der.integer(secrets.randbits(127) | 1)
            + der.tlv(der.GENERALIZED_TIME, now.strftime("%Y%m%d%H%M%SZ").encode())
            + template.accuracy
            + (der.integer(nonce) if nonce is not None else b"")
            + template.tsa_name,
        )
        signed_attrs = der.set_of(
            [
                template.content_type_attribute,
                template.signing_certificate_attribute,
                der.tlv(
                    der.SEQUENCE,
                    template.signing_time_oid
                    + der.tlv(
                        der.SET, der.tlv(der.UTC_TIME, now.strftime("%y%m%d%H%M%SZ").encode())
                    ),
                ),
                der.tlv(
                    der.SEQUENCE,
                    template.message_digest_oid
                    + der.tlv(
                        der.SET, der.tlv(der.OCTET_STRING, hashlib.sha256(tst_info).digest())
                    ),
                ),
            ]
        )
        signature = _sign(self.key, signed_attrs)
        signer_info = der.tlv(
            der.SEQUENCE,
            template.version_1
            + template.signer_identifier
            + template.digest_algorithm
            + bytes((der.CONTEXT_0,))
            + signed_attrs[1:]  # [0] IMPLICIT in SignerInfo
            + template.signature_algorithm
            + der.tlv(der.OCTET_STRING, signature),
        )
        signed_data = der.tlv(
            der.SEQUENCE,
            template.version_3
            + der.tlv(der.SET, template.digest_algorithm)
            + der.tlv(
                der.SEQUENCE,
                template.tst_info_oid + der.tlv(der.CONTEXT_0, der.tlv(der.OCTET_STRING, tst_info)),
            )
            + (template.certificates if cert_req else b"")
            + der.tlv(der.SET, signer_info),
        )
        return der.tlv(der.SEQUENCE, template.signed_data_oid + der.tlv(der.CONTEXT_0, signed_data))


@dataclass(frozen=True)
class _Template:
    """The DER of every part of a token that does not change from one token to the next."""

    version_1: bytes
    version_3: bytes
    policy: bytes
    accuracy: bytes
    tsa_name: bytes
    digest_algorithm: bytes
    signature_algorithm: bytes
    signer_identifier: bytes
    certificates: bytes
    content_type_attribute: bytes
    signing_certificate_attribute: bytes
    signing_time_oid: bytes
    message_digest_oid: bytes
    tst_info_oid: bytes
    signed_data_oid: bytes

    @classmethod
    def for_certificate(
        cls, certificate: asn1_x509.Certificate, key: SigningKey, policy: str
    ) -> _Template:
        mechanism = "sha256_ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "sha256_rsa"
        return cls(
            version_1=core.Integer(1).dump(),
            version_3=core.Integer(3).dump(),
            policy=core.ObjectIdentifier(policy).dump(),
            accuracy=tsp.Accuracy({"seconds": 1}).dump(),
            tsa_name=der.tlv(
                der.CONTEXT_0,
                asn1_x509.GeneralName(name="directory_name", value=certificate.subject).dump(),
            ),
            digest_algorithm=algos.DigestAlgorithm({"algorithm": "sha256"}).dump(),
            signature_algorithm=algos.SignedDigestAlgorithm({"algorithm": mechanism}).dump(),
            signer_identifier=cms.IssuerAndSerialNumber(
                {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
            ).dump(),
            certificates=der.tlv(der.CONTEXT_0, certificate.dump()),
            content_type_attribute=simple_cms_attribute("content_type", "tst_info").dump(),
            signing_certificate_attribute=simple_cms_attribute(
                "signing_certificate_v2", as_signing_certificate_v2(certificate)
            ).dump(),
            signing_time_oid=cms.CMSAttributeType("signing_time").dump(),
            message_digest_oid=cms.CMSAttributeType("message_digest").dump(),
            tst_info_oid=cms.ContentType("tst_info").dump(),
            signed_data_oid=cms.ContentType("signed_data").dump(),
        )


def _sign(key: SigningKey, data: bytes) -> bytes:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(hashes.SHA256()))
    assert isinstance(key, rsa.RSAPrivateKey)
    return key.sign(data, padding.PKCS1v15(), hashes.SHA256())


class _RejectionResponse(core.Sequence):  # type: ignore[misc]
    """TimeStampResp without its token: asn1crypto's class wrongly requires one."""

    _fields: ClassVar = [("status", tsp.PKIStatusInfo)]


def _rejection(failure: str, text: str) -> bytes:
    reply: bytes = _RejectionResponse(
        {
            "status": {
                "status": "rejection",
                "status_string": [text],
                "fail_info": tsp.PKIFailureInfo({failure}),
            }
        }
    ).dump()
    return reply


class InProcessTimeStamper(TimeStamper):
    """pyHanko timestamper that asks the built-in authority without HTTP."""

    def __init__(self, authority: TimestampAuthority) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> tsp.TimeStampResp:
        return tsp.TimeStampResp.load(self.authority.respond(req.dump()))


class ExternalTimeStamper(HTTPTimeStamper):
    """pyHanko's HTTP timestamper, with one deadline per token and the service's error.

    aiohttp's timeout bounds the request; the deadline here also bounds reading
    and checking the answer, so a TSA that is down, slow or answering nonsense
    fails the issuance within ``timeout`` seconds as ``TimestampUnavailableError``
    (503 ``tsa-unavailable``) instead of an unexplained internal error.
    """

    def __init__(self, url: str, timeout: float) -> None:
        super().__init__(url, timeout=timeout)
        self.deadline = timeout
        #: The URL as shown in errors: without any user name or password in it.
        self.shown_url = _without_credentials(url)

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> cms.ContentInfo:
        try:
            async with asyncio.timeout(self.deadline):
                token: cms.ContentInfo = await super().async_timestamp(message_digest, md_algorithm)
                return token
        except TimeoutError as exc:
            raise self._unavailable(f"did not answer within {self.deadline:g} s") from exc
        except (TimestampRequestError, OSError, ValueError) as exc:
            if isinstance(exc.__cause__, TimeoutError):
                raise self._unavailable(f"did not answer within {self.deadline:g} s") from exc
            if isinstance(exc.__cause__, OSError | ConnectionError):
                raise self._unavailable("could not be reached") from exc
            raise self._unavailable(f"gave no usable answer ({exc})") from exc

    def _unavailable(self, what: str) -> TimestampUnavailableError:
        return TimestampUnavailableError(
            f"the timestamp authority (TSA) at {self.shown_url} {what}; no license was issued"
        )


def _without_credentials(url: str) -> str:
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port is not None else host
    return urlunsplit(parts._replace(netloc=netloc))


def make_timestamper(
    tsa_url: str | None, authority: TimestampAuthority, timeout: float = 5.0
) -> TimeStamper:
    """The external TSA when one is configured (answering within ``timeout``), else the
    built-in one."""
    if tsa_url:
        return ExternalTimeStamper(tsa_url, timeout)
    return InProcessTimeStamper(authority)
