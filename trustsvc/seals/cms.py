"""The seal's CMS SignedData (CAdES baseline for PAdES, ETSI EN 319 122-1), from a template.

For one seal everything but the document digest, the signature and its
timestamp is fixed: certificates, signer identifier, algorithms, the
signingCertificateV2 and CMSAlgorithmProtection attributes. They are encoded
once (by asn1crypto) per seal; each signature then costs one hash, one key
operation and one timestamp. The attributes are those pyHanko writes for a
PAdES signature: contentType, messageDigest, signingCertificateV2,
CMSAlgorithmProtection, and the signature timestamp as an unsigned attribute;
no signingTime (PAdES puts the time in the signature dictionary).
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from asn1crypto import algos, cms
from asn1crypto import x509 as asn1_x509
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute

from trustsvc.pki import der


@dataclass(frozen=True)
class SealCmsTemplate:
    version_1: bytes
    digest_algorithms: bytes
    encapsulated_data: bytes
    certificates: bytes
    signer_identifier: bytes
    digest_algorithm: bytes
    signature_algorithm: bytes
    fixed_attributes: tuple[bytes, ...]
    message_digest_oid: bytes
    timestamp_oid: bytes
    signed_data_oid: bytes

    @classmethod
    def for_seal(
        cls,
        certificate: asn1_x509.Certificate,
        chain: list[asn1_x509.Certificate],
        mechanism: str,
    ) -> SealCmsTemplate:
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signature_algorithm = algos.SignedDigestAlgorithm({"algorithm": mechanism})
        protection = cms.CMSAlgorithmProtection(
            {"digest_algorithm": digest_algorithm, "signature_algorithm": signature_algorithm}
        )
        certificates = [certificate, *(c for c in chain if c.dump() != certificate.dump())]
        return cls(
            version_1=der.integer(1),
            digest_algorithms=der.tlv(der.SET, digest_algorithm.dump()),
            encapsulated_data=der.tlv(der.SEQUENCE, cms.ContentType("data").dump()),
            certificates=der.set_of([c.dump() for c in certificates], tag=der.CONTEXT_0),
            signer_identifier=cms.IssuerAndSerialNumber(
                {"issuer": certificate.issuer, "serial_number": certificate.serial_number}
            ).dump(),
            digest_algorithm=digest_algorithm.dump(),
            signature_algorithm=signature_algorithm.dump(),
            fixed_attributes=(
                simple_cms_attribute("content_type", "data").dump(),
                simple_cms_attribute(
                    "signing_certificate_v2", as_signing_certificate_v2(certificate)
                ).dump(),
                simple_cms_attribute("cms_algorithm_protection", protection).dump(),
            ),
            message_digest_oid=cms.CMSAttributeType("message_digest").dump(),
            timestamp_oid=cms.CMSAttributeType("signature_time_stamp_token").dump(),
            signed_data_oid=cms.ContentType("signed_data").dump(),
        )

    async def assemble(
        self,
        document_digest: bytes,
        sign: Callable[[bytes], bytes],
        timestamp: Callable[[bytes], Awaitable[bytes]] | None,
    ) -> bytes:
        """DER of the ContentInfo for a document whose ByteRange hashes to ``document_digest``.

        ``sign`` signs the DER of the signed attributes; ``timestamp`` returns the
        DER of a timestamp token over the SHA-256 of the signature value.
        """
        message_digest = der.tlv(
            der.SEQUENCE,
            self.message_digest_oid + der.tlv(der.SET, der.tlv(der.OCTET_STRING, document_digest)),
        )
        signed_attributes = der.set_of([*self.fixed_attributes, message_digest])
        signature = sign(signed_attributes)
        unsigned = b""
        if timestamp is not None:
            token = await timestamp(hashlib.sha256(signature).digest())
            unsigned = der.tlv(
                der.CONTEXT_1,
                der.tlv(der.SEQUENCE, self.timestamp_oid + der.tlv(der.SET, token)),
            )
        signer_info = der.tlv(
            der.SEQUENCE,
            self.version_1
            + self.signer_identifier
            + self.digest_algorithm
            + bytes((der.CONTEXT_0,))
            + signed_attributes[1:]  # [0] IMPLICIT: the SET with its tag replaced
            + self.signature_algorithm
            + der.tlv(der.OCTET_STRING, signature)
            + unsigned,
        )
        signed_data = der.tlv(
            der.SEQUENCE,
            self.version_1
            + self.digest_algorithms
            + self.encapsulated_data
            + self.certificates
            + der.tlv(der.SET, signer_info),
        )
        return der.tlv(der.SEQUENCE, self.signed_data_oid + der.tlv(der.CONTEXT_0, signed_data))
