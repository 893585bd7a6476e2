"""Applying a department's e-seal to a PDF: PAdES baseline signatures with pyHanko.

Profiles (ETSI EN 319 142-1): B-T (signature + RFC 3161 timestamp), B-LT
(plus the certificates and revocation answers needed to validate it for years,
in the DSS) — the default for issued licenses — and B-LTA (plus a document
timestamp over all of it). The seal is a certification signature with DocMDP
P=2: after it, validators accept only validation data, document timestamps and
further signatures. The one further signature this service adds is its own seal
over a purpose note (加注件, ``verification.annotated_copy``); this service's
verifier accepts that one and refuses any other (``verification.pdf_checks``).
Licenses sealed before were certified with P=1, under which validators report
the note as outside the certification's terms.

What does not change between documents is prepared once per seal and reused:
the decrypted key (pyHanko's SimpleSigner would re-read it for every
signature), the certificate chain, and the revocation answers for the seal
and TSA certificates, taken in-process from the service's own OCSP responder
and CRLs and renewed before they go stale. For a seal of the service's own
PKI the seal's and the TSA's certificate paths are validated once, when the
seal is prepared (pyHanko would validate them again before every signature,
at the same moment and with the same answers), and the DSS is written in the
signed revision itself: B-LT in one revision, as pyHanko's
``SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE`` does (no VRI, which
ETSI EN 319 142-1 advises against anyway). Nothing then follows the seal, so
a viewer that is strict about updates after a certification (Adobe Acrobat
is) has nothing to weigh.

The sealed file stays PDF/A-2b (ISO 19005-2), which is based on PDF 1.7: the
seal revision declares only the ESIC extension of PDF 1.7 for PAdES (ETSI EN
319 142-1), not ISO/TS 32002, an extension of PDF 2.0 whose declaration
would make pyHanko raise the catalog's /Version to 2.0 (ECDSA seals are PAdES
signatures per ETSI TS 119 312 without it). And it leaves the document
information dictionary and the XMP metadata as the page writer made them:
pyHanko would rewrite /Producer and the modification date in one and not the
same way in the other, and PDF/A requires the two to agree.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from io import BytesIO
from pathlib import Path
from typing import Any, Protocol

from asn1crypto import cms
from asn1crypto import crl as asn1_crl
from asn1crypto import ocsp as asn1_ocsp
from asn1crypto import x509 as asn1_x509
from asn1crypto.algos import SignedDigestAlgorithm
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from pyhanko.pdf_utils.content import PdfContent
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.layout import AxisAlignment, BoxConstraints, Margins, SimpleBoxLayoutRule
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.pdf_utils.writer import BasePdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.constants import DEFAULT_SIGNER_KEY_USAGE, ESIC_EXTENSION_1
from pyhanko.sign.signers.pdf_signer import PdfTimeStamper, TimestampDSSContentSettings
from pyhanko.sign.timestamps import TimeStamper
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError
from pyhanko_certvalidator.registry import SimpleCertificateStore

from trustsvc.errors import SealUnavailableError, TrustServiceError
from trustsvc.pki.keystore import SigningKey
from trustsvc.seals.cms import SealCmsTemplate
from trustsvc.seals.fields import SEAL_FIELD

#: Room in the signature's /Contents beyond the seal's certificates: signed
#: attributes, the signature (384 bytes with RSA-3072) and the timestamp token
#: (about 1.5 KB with its certificate). Knowing the size skips pyHanko's trial
#: signature; a CMS that outgrows it fails loudly, it is never cut.
_ROOM_BEYOND_CERTIFICATES = 4096
#: Revocation answers are renewed after this long (well inside their validity).
_REVOCATION_REFRESH_SECONDS = 15 * 60


class SealingError(TrustServiceError):
    code = "sealing-failed"


class SealNotInStandingError(SealingError, SealUnavailableError):
    """The seal certificate's own OCSP answer is not "good": revoked since it was chosen."""

    code = "seal-unavailable"


def _integer_box(box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
    x1, y1, x2, y2 = box
    return round(x1), round(y1), round(x2), round(y2)


@dataclass(frozen=True)
class SealedDocument:
    pdf: bytes
    #: Length of the revision the seal signs. What may follow is validation
    #: data and document timestamps: at B-LTA a document timestamp, and for a
    #: seal of another CA the DSS, which pyHanko adds after the signature.
    signed_length: int

    @property
    def signed_revision(self) -> bytes:
        return self.pdf[: self.signed_length]


class SealProfile(StrEnum):
    B_T = "B-T"
    B_LT = "B-LT"
    B_LTA = "B-LTA"


def _asn1_certificate(certificate: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))


class CachedKeySigner(signers.Signer):
    """A pyHanko signer over a key already in memory, with a per-seal CMS template.

    pyHanko's SimpleSigner re-reads its key for every signature and builds the
    CMS object through asn1crypto; here the key is decrypted once and the CMS
    assembled from ``SealCmsTemplate``. Anything but a plain PAdES SHA-256
    signature falls back to pyHanko's own path.
    """

    def __init__(
        self, certificate: x509.Certificate, key: SigningKey, chain: list[x509.Certificate]
    ) -> None:
        self._key = key
        mechanism = "sha256_ecdsa" if isinstance(key, ec.EllipticCurvePrivateKey) else "sha256_rsa"
        asn1_chain = [_asn1_certificate(c) for c in chain]
        signing_certificate = _asn1_certificate(certificate)
        super().__init__(
            signing_cert=signing_certificate,
            cert_registry=SimpleCertificateStore.from_certs(asn1_chain),
            signature_mechanism=SignedDigestAlgorithm({"algorithm": mechanism}),
            embed_roots=True,
        )
        self._template = SealCmsTemplate.for_seal(signing_certificate, asn1_chain, mechanism)
        #: pyHanko counts the reservation in hex digits: two per byte.
        self.reserved_size = 2 * (len(self._template.certificates) + _ROOM_BEYOND_CERTIFICATES)

    def _sign_bytes(self, data: bytes, algorithm: hashes.HashAlgorithm | None = None) -> bytes:
        algorithm = algorithm or hashes.SHA256()
        if isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(algorithm))
        assert isinstance(self._key, rsa.RSAPrivateKey)
        return self._key.sign(data, padding.PKCS1v15(), algorithm)

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        algorithm = {
            "sha256": hashes.SHA256(),
            "sha384": hashes.SHA384(),
            "sha512": hashes.SHA512(),
        }[digest_algorithm.lower()]
        return self._sign_bytes(data, algorithm)

    async def async_sign(
        self,
        data_digest: bytes,
        digest_algorithm: str,
        dry_run: bool = False,
        use_pades: bool = False,
        timestamper: TimeStamper | None = None,
        signed_attr_settings: Any = None,
        is_pdf_sig: bool = True,
        encap_content_info: Any = None,
    ) -> cms.ContentInfo:
        plain_pades = (
            use_pades
            and is_pdf_sig
            and not dry_run
            and encap_content_info is None
            and digest_algorithm.lower() == "sha256"
            and getattr(signed_attr_settings, "cades_signed_attrs", None) is None
        )
        if not plain_pades:
            return await super().async_sign(
                data_digest,
                digest_algorithm,
                dry_run=dry_run,
                use_pades=use_pades,
                timestamper=timestamper,
                signed_attr_settings=signed_attr_settings,
                is_pdf_sig=is_pdf_sig,
                encap_content_info=encap_content_info,
            )

        async def timestamp(digest: bytes) -> bytes:
            assert timestamper is not None
            token = await timestamper.async_timestamp(digest, "sha256")
            encoded: bytes = token.dump()
            return encoded

        encoded = await self._template.assemble(
            data_digest, self._sign_bytes, timestamp if timestamper is not None else None
        )
        return cms.ContentInfo.load(encoded)


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
    #: For a seal of the service's own PKI (its paths validated when prepared): the
    #: DSS contents, the same for every document.
    dss: _DssContents | None
    made_at: float


@dataclass(frozen=True)
class _DssContents:
    certificates: tuple[asn1_x509.Certificate, ...]
    ocsps: tuple[asn1_ocsp.OCSPResponse, ...]
    crls: tuple[asn1_crl.CertificateList, ...]


class _StampPage(PdfContent):
    """The department's stamp as signature appearance, its PDF parsed once, not per seal."""

    def __init__(self, reader: PdfFileReader, lock: threading.Lock) -> None:
        super().__init__()
        self._reader = reader
        self._lock = lock

    def render(self) -> bytes:
        with self._lock:
            xobject = self._ensure_writer.import_page_as_xobject(self._reader, page_ix=0)
        self.resources.xobject["/Stamp"] = xobject
        x1, y1, x2, y2 = xobject.get_object()["/BBox"]
        self.box = BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return b"/Stamp Do"


class _PdfA2Writer(IncrementalPdfFileWriter):
    """An incremental update that leaves the document's metadata alone (see the docstring)."""

    # pyHanko has no option for this: its writer updates Info and XMP on every
    # write, from this method (private, so pinned pyHanko; tests/pdfa_rules.py
    # checks the result after sealing).
    def _update_meta(self) -> None:
        return


class _PdfA2Signer(signers.PdfSigner):
    """pyHanko's signer declaring the PAdES extension of PDF 1.7 only (see the docstring)."""

    # What pyHanko's own method does for a PAdES seal of a SHA-256 digest, less
    # ISO/TS 32002 for ECDSA keys (no encryption here, so no ISO/TS 32004 MAC).
    def register_extensions(self, pdf_out: BasePdfFileWriter, *, md_algorithm: str) -> None:
        pdf_out.ensure_output_version(version=(1, 7))
        pdf_out.register_extension(ESIC_EXTENSION_1)


class _CountersignatureSigner(_PdfA2Signer):
    """An approval signature over a certified document, also one certified with P=1.

    The service's own seal over a note it adds to a license (a purpose-annotated
    copy, ``verification.annotated_copy``): the license's seal stays intact over
    its revision. Licenses certified with P=2 allow it; pyHanko would refuse it
    over the P=1 licenses sealed before, whose copies validators then report
    against their DocMDP terms. pyHanko checks those terms before signing (a
    private method, so pinned pyHanko); everything else is its own path.
    """

    def _enforce_certification_constraints(self, reader: PdfFileReader) -> None:
        return


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
        self._stamps: dict[Path, tuple[PdfFileReader, threading.Lock]] = {}
        self._lock = threading.Lock()

    def _stamp_style(self, stamp_pdf: Path | bytes) -> StaticStampStyle:
        if isinstance(stamp_pdf, bytes):  # made for this one signature: not kept, and drawn
            # to the box's edges (it was drawn to the box's size)
            reader = PdfFileReader(BytesIO(stamp_pdf))
            return StaticStampStyle(
                background=_StampPage(reader, threading.Lock()),
                border_width=0,
                background_layout=SimpleBoxLayoutRule(
                    x_align=AxisAlignment.ALIGN_MID,
                    y_align=AxisAlignment.ALIGN_MID,
                    margins=Margins.uniform(0),
                ),
            )
        with self._lock:
            cached = self._stamps.get(stamp_pdf)
            if cached is None:
                cached = (PdfFileReader(BytesIO(stamp_pdf.read_bytes())), threading.Lock())
                self._stamps[stamp_pdf] = cached
        return StaticStampStyle(background=_StampPage(*cached), border_width=0)

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
            if (
                ocsp.load_der_ocsp_response(answer).certificate_status
                is not ocsp.OCSPCertStatus.GOOD
            ):
                raise SealNotInStandingError(
                    "the seal certificate is not in good standing; it cannot seal"
                )
            ocsps.append(asn1_ocsp.OCSPResponse.load(answer))
        crls = [
            asn1_crl.CertificateList.load(self.revocation.current_crl(ca))
            for ca in ("root", "issuing")
        ]
        dss = (
            _DssContents(
                tuple(
                    _asn1_certificate(c)
                    for c in (material.certificate, *material.chain, self.tsa_certificate)
                ),
                tuple(ocsps),
                tuple(crls),
            )
            if own_seal
            else None
        )
        context = ValidationContext(
            trust_roots=[_asn1_certificate(c) for c in material.trust_roots],
            other_certs=[_asn1_certificate(c) for c in (*material.chain, self.tsa_certificate)],
            ocsps=ocsps,
            crls=crls,
            allow_fetching=not own_seal,
            revocation_mode="hard-fail",
        )
        if own_seal:
            self._validate_paths(signer, context)
        prepared = _Prepared(signer, context, dss, time.monotonic())
        with self._lock:
            self._prepared[fingerprint] = prepared
        return prepared

    def _validate_paths(self, signer: CachedKeySigner, context: ValidationContext) -> None:
        """Validate the seal's and the TSA's certificate paths, as pyHanko does before signing."""

        async def validate() -> None:
            validator = CertificateValidator(
                signer.signing_cert,
                intermediate_certs=signer.cert_registry,
                validation_context=context,
            )
            await validator.async_validate_usage(set(DEFAULT_SIGNER_KEY_USAGE))
            async for _path in self.timestamper.validation_paths(context):
                pass

        try:
            asyncio.run(validate())
        except (PathBuildingError, PathValidationError) as exc:
            raise SealingError(f"the seal or TSA certificate does not validate: {exc}") from exc

    def seal(
        self,
        pdf: bytes,
        material: SealMaterial,
        seal_box: tuple[float, float, float, float],
        stamp_pdf: Path | bytes | None,
        reason: str,
        profile: SealProfile | None = None,
        on_page: int = 0,
        *,
        countersign: str | None = None,
    ) -> SealedDocument:
        """Seal ``pdf``, its stamp on page ``on_page`` (from 0); says where its revision ends.

        ``countersign`` names the field of an approval signature added over a
        document that is sealed already (no certification, no DocMDP of its own).
        """
        profile = profile or self.profile
        field_name = countersign or SEAL_FIELD
        prepared = self._prepare(material)
        # A seal of the service's own PKI was validated when it was prepared and
        # its validation data is known in advance: it goes into the DSS of the
        # signed revision. pyHanko gathers a seal of another CA's itself.
        own_pki = prepared.dss is not None
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            certify=countersign is None,
            docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            reason=reason,
            name=material.certificate.subject.rfc4514_string(),
            embed_validation_info=profile is not SealProfile.B_T and not own_pki,
            use_pades_lta=profile is SealProfile.B_LTA and not own_pki,
            validation_context=None if own_pki else prepared.context,
        )
        style = self._stamp_style(stamp_pdf) if stamp_pdf is not None else None
        signer_class = _PdfA2Signer if countersign is None else _CountersignatureSigner
        pdf_signer = signer_class(
            metadata,
            prepared.signer,
            timestamper=self.timestamper,
            stamp_style=style,
            new_field_spec=fields.SigFieldSpec(
                field_name, on_page=on_page, box=_integer_box(seal_box)
            ),
        )
        try:
            writer = _PdfA2Writer(BytesIO(pdf), strict=False)
            if prepared.dss is not None and profile is not SealProfile.B_T:
                DocumentSecurityStore.supply_dss_in_writer(
                    writer,
                    sig_contents=None,
                    certs=prepared.dss.certificates,
                    ocsps=prepared.dss.ocsps,
                    crls=prepared.dss.crls,
                )
            output = pdf_signer.sign_pdf(writer, bytes_reserved=prepared.signer.reserved_size)
            signed_length = output.getbuffer().nbytes
            if own_pki and profile is SealProfile.B_LTA:
                # The timestamp's validation data goes into the DSS of the
                # timestamp's own revision (no VRI), not into one more revision
                # after it, which pyHanko would write with its own metadata.
                output = PdfTimeStamper(self.timestamper).timestamp_pdf(
                    _PdfA2Writer(output, strict=False),
                    "sha256",
                    validation_context=prepared.context,
                    dss_settings=TimestampDSSContentSettings(
                        include_vri=False, update_before_ts=True
                    ),
                )
        except (SigningError, PdfError, ValueError) as exc:
            raise SealingError(f"the document could not be sealed: {exc}") from exc
        return SealedDocument(output.getvalue(), signed_length)
