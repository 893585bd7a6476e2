"""Applying a department's e-seal to a PDF: PAdES baseline signatures with pyHanko.

Profiles (ETSI EN 319 142-1): B-T (signature + RFC 3161 timestamp), B-LT
(plus the certificates and revocation answers needed to validate it for years,
in the DSS) — the default for issued licenses — and B-LTA (plus a document
timestamp over all of it). The seal is a certification signature with DocMDP
P=1: any change after sealing other than validation data and document
timestamps is a modification.

What does not change between documents is prepared once per seal and reused:
the decrypted key (pyHanko's SimpleSigner would re-read it for every
signature), the certificate chain, and the revocation answers for the seal
and TSA certificates, taken in-process from the service's own OCSP responder
and CRLs and renewed before they go stale.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO
from pathlib import Path
from typing import Protocol

from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from trustsvc.errors import TrustServiceError
from trustsvc.keys.store import SigningKey

SEAL_FIELD = "Seal"
#: Room for the CMS container; measured B-LT seals with P-256 keys take about
#: 5 KB, RSA-3072 about 7 KB. Reserving it skips pyHanko's trial signature.
_BYTES_RESERVED = 16 * 1024
#: Revocation answers are renewed after this long (well inside their validity).
_REVOCATION_REFRESH_SECONDS = 15 * 60


class SealingError(TrustServiceError):
    code = "sealing-failed"
    http_status = 500


def _integer_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return round(x1), round(y1), round(x2), round(y2)


class SealProfile(StrEnum):
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class CachedKeySigner(signers.Signer):
    """A pyHanko signer over a key already in memory (file keys, decrypted once)."""

    def __init__(
        self, certificate: x509.Certificate, key: SigningKey, chain: list[x509.Certificate]
    ) -> None:
        self._key = key
        mechanism = "sha256_ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "sha256_rsa"
        super().__init__(
            signing_cert=_asn1_certificate(certificate),
            cert_registry=SimpleCertificateStore.from_certs([_asn1_certificate(c) for c in chain]),
            signature_mechanism=SignedDigestAlgorithm({"algorithm": mechanism}),
            embed_roots=True,
        )

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        algorithm = {
            "sha256": hashes.SHA256(),
            "sha384": hashes.SHA384(),
            "sha512": hashes.SHA512(),
        }[digest_algorithm.lower()]
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(algorithm))
        assert isinstance(self._key, rsa.RSAPrivateKey)
        return self._key.sign(data, padding.PKCS1v15(), algorithm)


@dataclass(frozen=True)
class SealMaterial:
    """Everything about one department seal that every sealing reuses."""

    certificate: x509.Certificate
    key: SigningKey
    #: Issuing CA(s) and root, for the CMS certificate set and the DSS.
    chain: tuple[x509.Certificate, ...]
    trust_roots: tuple[x509.Certificate, ...]


class RevocationSource(Protocol):
    """Where the sealer gets OCSP answers and CRLs: the service's own responder."""

    def ocsp_for(self, certificate: x509.Certificate) -> bytes: ...

    def current_crl(self, ca: str) -> bytes: ...


@dataclass
class _Prepared:
    signer: CachedKeySigner
    context: ValidationContext
    made_at: float


class Sealer:
    def __init__(
        self,
        timestamper: TimeStamper,
        revocation: RevocationSource,
        issuing_ca: x509.Certificate,
        tsa_certificate: x509.Certificate,
        profile: SealProfile = SealProfile.B_LT,
    ) -> None:
        self.timestamper = timestamper
        self.revocation = revocation
        self.issuing_ca = issuing_ca
        self.tsa_certificate = tsa_certificate
        self.profile = profile
        self._prepared: dict[bytes, _Prepared] = {}
        self._lock = threading.Lock()

    def _prepare(self, material: SealMaterial) -> _Prepared:
        fingerprint = material.certificate.fingerprint(hashes.SHA256())
        with self._lock:
            prepared = self._prepared.get(fingerprint)
        if (
            prepared is not None
            and time.monotonic() - prepared.made_at < _REVOCATION_REFRESH_SECONDS
        ):
            return prepared
        signer = CachedKeySigner(material.certificate, material.key, list(material.chain))
        # The service's own PKI answers in-process; a seal from an outside CA
        # has its revocation answers fetched from that CA.
        own_seal = material.certificate.issuer == self.issuing_ca.subject
        ocsps = []
        if own_seal:
            answer = self.revocation.ocsp_for(material.certificate)
            ocsps.append(asn1_ocsp.OCSPResponse.load(answer))
        crls = [
            asn1_crl.CertificateList.load(self.revocation.current_crl(ca))
            for ca in ("root", "issuing")
        ]
        context = ValidationContext(
            trust_roots=[_asn1_certificate(c) for c in material.trust_roots],
            other_certs=[_asn1_certificate(c) for c in (*material.chain, self.tsa_certificate)],
            ocsps=ocsps,
            crls=crls,
            allow_fetching=not own_seal,
            revocation_mode="hard-fail",
        )
        prepared = _Prepared(signer, context, time.monotonic())
        with self._lock:
            self._prepared[fingerprint] = prepared
        return prepared

    def seal(
        self,
        pdf: bytes,
        material: SealMaterial,
        seal_box: tuple[float, float, float, float],
        stamp_pdf: Path | None,
        reason: str,
        profile: SealProfile | None = None,
    ) -> bytes:
        """Seal ``pdf`` and return the sealed bytes."""
        profile = profile or self.profile
        prepared = self._prepare(material)
        metadata = signers.PdfSignatureMetadata(
            field_name=SEAL_FIELD,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=True,
            docmdp_permissions=fields.MDPPerm.NO_CHANGES,
            reason=reason,
            name=material.certificate.subject.rfc4514_string(),
            embed_validation_info=profile is not SealProfile.B_T,
            use_pades_lta=profile is SealProfile.B_LTA,
            validation_context=prepared.context,
        )
        style = (
            StaticStampStyle.from_pdf_file(str(stamp_pdf), border_width=0)
            if stamp_pdf is not None
            else None
        )
        pdf_signer = signers.PdfSigner(
            metadata,
            prepared.signer,
            timestamper=self.timestamper,
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec(SEAL_FIELD, on_page=0, box=_integer_box(seal_box)),
        )
        try:
            writer = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
            output = pdf_signer.sign_pdf(writer, bytes_reserved=_BYTES_RESERVED)
        except (SigningError, PdfError, ValueError) as exc:
            raise SealingError(f"the document could not be sealed: {exc}") from exc
        sealed: bytes = output.getvalue()
        return sealed
