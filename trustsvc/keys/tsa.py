"""The built-in RFC 3161 timestamp authority, and the timestamper sealing uses.

The authority answers ``TimeStampReq`` messages: SHA-256/384/512 imprints of
the right length, an optional nonce echoed back, certReq honoured (the TSA
certificate is included only when asked), one policy. The token is CMS
SignedData over TSTInfo with ESS signingCertificateV2 (RFC 5816).

pyHanko's own ``DummyTimeStamper`` is a test device (RSA only, certReq
ignored, the key re-read for every token), hence this module.
"""

from __future__ import annotations

import hashlib
import secrets
from typing import Any, ClassVar

from asn1crypto import algos, cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps import HTTPTimeStamper, TimeStamper

from trustsvc.clock import Clock
from trustsvc.keys.store import SigningKey

#: Policy under which the built-in TSA issues tokens (an arc for this service's
#: own use; operators with a registered policy OID configure an external TSA).
DEFAULT_POLICY = "1.3.6.1.4.1.61002.1.1"

_IMPRINT_LENGTHS = {"sha256": 32, "sha384": 48, "sha512": 64}


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
        self._signing_certificate = as_signing_certificate_v2(self.certificate)

    def respond(self, request_der: bytes) -> bytes:
        """DER TimeStampResp for a DER TimeStampReq; never raises on bad input."""
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            hashed = imprint["hashed_message"].native
            requested_policy = request["req_policy"].native
            extensions = request["extensions"].native
            nonce = request["nonce"].native
            cert_req = bool(request["cert_req"].native)
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format", "request is not a DER TimeStampReq")
        if algorithm not in _IMPRINT_LENGTHS:
            return _rejection("bad_alg", f"hash algorithm {algorithm} is not accepted")
        if not isinstance(hashed, bytes) or len(hashed) != _IMPRINT_LENGTHS[algorithm]:
            return _rejection("bad_data_format", "imprint length does not match its algorithm")
        if requested_policy is not None and requested_policy != self.policy:
            return _rejection("unaccepted_policy", f"only policy {self.policy} is offered")
        if extensions:
            return _rejection("unaccepted_extension", "no request extensions are supported")
        token = self._token(imprint, nonce, cert_req)
        reply: bytes = tsp.TimeStampResp(
            {"status": {"status": "granted"}, "time_stamp_token": token}
        ).dump()
        return reply

    def _token(
        self, imprint: tsp.MessageImprint, nonce: int | None, cert_req: bool
    ) -> cms.ContentInfo:
        now = self.clock.now()
        tst_info: dict[str, Any] = {
            "version": "v1",
            "policy": self.policy,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127) | 1,
            "gen_time": now,
            "accuracy": {"seconds": 1},
            "ordering": False,
            "tsa": asn1_x509.GeneralName(name="directory_name", value=self.certificate.subject),
        }
        if nonce is not None:
            tst_info["nonce"] = nonce
        content = tsp.TSTInfo(tst_info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("signing_time", cms.Time({"utc_time": core.UTCTime(now)})),
                simple_cms_attribute("signing_certificate_v2", self._signing_certificate),
                simple_cms_attribute("message_digest", hashlib.sha256(content).digest()),
            ]
        )
        signature, signature_algorithm = _sign(self.key, signed_attrs.dump())
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier(
                    name="issuer_and_serial_number",
                    value=cms.IssuerAndSerialNumber(
                        {
                            "issuer": self.certificate.issuer,
                            "serial_number": self.certificate.serial_number,
                        }
                    ),
                ),
                "digest_algorithm": digest_algorithm,
                "signature_algorithm": signature_algorithm,
                "signed_attrs": signed_attrs,
                "signature": signature,
            }
        )
        signed_data: dict[str, Any] = {
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {
                "content_type": "tst_info",
                "content": cms.ParsableOctetString(content),
            },
            "signer_infos": [signer_info],
        }
        if cert_req:
            signed_data["certificates"] = [self.certificate]
        return cms.ContentInfo(
            {"content_type": "signed_data", "content": cms.SignedData(signed_data)}
        )


def _sign(key: SigningKey, data: bytes) -> tuple[bytes, algos.SignedDigestAlgorithm]:
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return (
            key.sign(data, ec.ECDSA(hashes.SHA256())),
            algos.SignedDigestAlgorithm({"algorithm": "sha256_ecdsa"}),
        )
    assert isinstance(key, rsa.RSAPrivateKey)
    return (
        key.sign(data, padding.PKCS1v15(), hashes.SHA256()),
        algos.SignedDigestAlgorithm({"algorithm": "sha256_rsa"}),
    )


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


def make_timestamper(tsa_url: str | None, authority: TimestampAuthority) -> TimeStamper:
    """The external TSA when one is configured, else the built-in one."""
    if tsa_url:
        return HTTPTimeStamper(tsa_url, timeout=10)
    return InProcessTimeStamper(authority)
