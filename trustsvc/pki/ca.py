"""Certificate profiles of the service's PKI (RFC 5280), built with cryptography.

root CA -> issuing CA -> department seal certificates and the OCSP responder;
root CA -> timestamping certificate. Seal certificates follow ETSI EN 319 412-2
and -3 for legal persons (a non-qualified e-seal): countryName CN, the
organisation's name, its unified social credit code as ``organizationIdentifier``
("NTRCN-" + code), the operator's policy in certificatePolicies, CRL and OCSP
pointers. Key usage is digitalSignature + nonRepudiation (EN 319 412-2 table 1
type B, a content-commitment setting), as Chinese signing certificates carry
(GM/T 0015); the type A that EN 319 412-2 prefers is a "should". Every
certificate the PKI issues carries the operator's certificate policy, so that a
relying party can tell under which CP/CPS it was issued.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPublicKeyTypes
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID, NameOID

from trustsvc.codes.identifiers import validate_credit_code
from trustsvc.errors import InvalidCreditCodeError
from trustsvc.pki.keystore import SigningKey

ROOT_LIFETIME = timedelta(days=20 * 365)
ISSUING_LIFETIME = timedelta(days=10 * 365)
TSA_LIFETIME = timedelta(days=10 * 365)
#: RFC 6960 §4.2.2.2.1: a responder certificate with ocsp-nocheck cannot be
#: revoked, so it lives days, not years; the service renews it (keys.responder).
OCSP_LIFETIME = timedelta(days=7)
TRUST_LIST_LIFETIME = timedelta(days=3 * 365)
#: id-tsl-kp-tslSigning (ETSI TS 119 612 §5.7.1): the purpose of a key that signs a list
#: of trusted certificates and their status, which the trust bundle is.
TSL_SIGNING = x509.ObjectIdentifier("0.4.0.2231.3.0")
SEAL_LIFETIME = timedelta(days=3 * 365)
#: Back-dating of notBefore, so that a clock slightly behind still accepts a new certificate.
_CLOCK_SKEW = timedelta(minutes=5)

#: ETSI EN 319 412-1 semantics: national trade register, country CN.
ORGANISATION_ID_PREFIX = "NTRCN-"


@dataclass(frozen=True)
class PkiUrls:
    """Where relying parties fetch the PKI's certificates, CRLs and OCSP answers."""

    base: str

    def crl(self, ca: str) -> str:
        return f"{self.base}/pki/crl/{ca}"

    def certificate(self, name: str) -> str:
        return f"{self.base}/pki/certs/{name}.der"

    @property
    def ocsp(self) -> str:
        return f"{self.base}/pki/ocsp"

    @property
    def tsa(self) -> str:
        return f"{self.base}/pki/tsa"


#: Every certificate and CRL of the service is signed over SHA-256.
_SIGNATURE_HASH = hashes.SHA256()


def _base_builder(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: CertificateIssuerPublicKeyTypes,
    now: datetime,
    lifetime: timedelta,
) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _CLOCK_SKEW)
        .not_valid_after(now + lifetime)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )


def _issued_by(
    builder: x509.CertificateBuilder, issuer_cert: x509.Certificate
) -> x509.CertificateBuilder:
    ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    return builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
    )


def _revocation_pointers(
    builder: x509.CertificateBuilder, urls: PkiUrls, issuer_ca: str, with_ocsp: bool
) -> x509.CertificateBuilder:
    builder = builder.add_extension(
        x509.CRLDistributionPoints(
            [
                x509.DistributionPoint(
                    full_name=[x509.UniformResourceIdentifier(urls.crl(issuer_ca))],
                    relative_name=None,
                    reasons=None,
                    crl_issuer=None,
                )
            ]
        ),
        critical=False,
    )
    access = [
        x509.AccessDescription(
            AuthorityInformationAccessOID.CA_ISSUERS,
            x509.UniformResourceIdentifier(urls.certificate(issuer_ca)),
        )
    ]
    if with_ocsp:
        access.insert(
            0,
            x509.AccessDescription(
                AuthorityInformationAccessOID.OCSP, x509.UniformResourceIdentifier(urls.ocsp)
            ),
        )
    return builder.add_extension(x509.AuthorityInformationAccess(access), critical=False)


def _with_policy(builder: x509.CertificateBuilder, policy: str | None) -> x509.CertificateBuilder:
    """RFC 5280 §4.2.1.4: the operator's policy OID, without qualifiers (the CPS is published)."""
    if policy is None:
        return builder
    return builder.add_extension(
        x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(policy), None)]),
        critical=False,
    )


def _ca_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=False,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )


def _signing_key_usage(non_repudiation: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=non_repudiation,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def service_name(organisation: str, common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def build_root_ca(
    key: SigningKey, subject: x509.Name, now: datetime, policy: str | None = None
) -> x509.Certificate:
    builder = (
        _base_builder(subject, subject, key.public_key(), now, ROOT_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=1), critical=True)
        .add_extension(_ca_key_usage(), critical=True)
    )
    return _with_policy(builder, policy).sign(key, _SIGNATURE_HASH)


def build_issuing_ca(
    key: SigningKey,
    subject: x509.Name,
    root_cert: x509.Certificate,
    root_key: SigningKey,
    urls: PkiUrls,
    now: datetime,
    policy: str | None = None,
) -> x509.Certificate:
    builder = _base_builder(subject, root_cert.subject, key.public_key(), now, ISSUING_LIFETIME)
    builder = _issued_by(builder, root_cert)
    builder = _revocation_pointers(builder, urls, "root", with_ocsp=False)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=True, path_length=0), critical=True
    ).add_extension(_ca_key_usage(), critical=True)
    return _with_policy(builder, policy).sign(root_key, _SIGNATURE_HASH)


def build_tsa_certificate(
    key: SigningKey,
    subject: x509.Name,
    root_cert: x509.Certificate,
    root_key: SigningKey,
    urls: PkiUrls,
    now: datetime,
    policy: str | None = None,
) -> x509.Certificate:
    """RFC 3161 §2.3: the timeStamping purpose, alone, in a critical EKU."""
    builder = _base_builder(subject, root_cert.subject, key.public_key(), now, TSA_LIFETIME)
    builder = _issued_by(builder, root_cert)
    builder = _revocation_pointers(builder, urls, "root", with_ocsp=False)
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(non_repudiation=True), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
    )
    return _with_policy(builder, policy).sign(root_key, _SIGNATURE_HASH)


def build_ocsp_certificate(
    key: SigningKey,
    subject: x509.Name,
    issuing_cert: x509.Certificate,
    issuing_key: SigningKey,
    now: datetime,
    urls: PkiUrls | None = None,
    policy: str | None = None,
    lifetime: timedelta = OCSP_LIFETIME,
) -> x509.Certificate:
    """RFC 6960 §4.2.2 delegated responder, with id-pkix-ocsp-nocheck and a short life.

    AIA names the issuing CA's certificate (caIssuers) only: an OCSP pointer
    would ask a client to check the responder with itself, which nocheck rules out.
    """
    builder = _base_builder(subject, issuing_cert.subject, key.public_key(), now, lifetime)
    builder = _issued_by(builder, issuing_cert)
    if urls is not None:
        builder = builder.add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(
                        AuthorityInformationAccessOID.CA_ISSUERS,
                        x509.UniformResourceIdentifier(urls.certificate("issuing")),
                    )
                ]
            ),
            critical=False,
        )
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(non_repudiation=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.OCSP_SIGNING]), critical=False)
        .add_extension(x509.OCSPNoCheck(), critical=False)
    )
    return _with_policy(builder, policy).sign(issuing_key, _SIGNATURE_HASH)


def build_trust_list_certificate(
    key: SigningKey,
    subject: x509.Name,
    issuing_cert: x509.Certificate,
    issuing_key: SigningKey,
    urls: PkiUrls,
    now: datetime,
    policy: str | None = None,
) -> x509.Certificate:
    """The trust bundle's signer: its own key, for that purpose alone (tslSigning EKU)."""
    builder = _base_builder(
        subject, issuing_cert.subject, key.public_key(), now, TRUST_LIST_LIFETIME
    )
    builder = _issued_by(builder, issuing_cert)
    builder = _revocation_pointers(builder, urls, "issuing", with_ocsp=True)
    builder = (
        builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_signing_key_usage(non_repudiation=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([TSL_SIGNING]), critical=True)
    )
    return _with_policy(builder, policy).sign(issuing_key, _SIGNATURE_HASH)


def seal_subject(department_name: str, credit_code: str, region_code: str | None) -> x509.Name:
    attributes = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, department_name),
        x509.NameAttribute(NameOID.ORGANIZATION_IDENTIFIER, ORGANISATION_ID_PREFIX + credit_code),
    ]
    if region_code:
        attributes.append(x509.NameAttribute(NameOID.LOCALITY_NAME, region_code))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, department_name))
    return x509.Name(attributes)


def build_seal_certificate(
    public_key: CertificateIssuerPublicKeyTypes,
    subject: x509.Name,
    issuing_cert: x509.Certificate,
    issuing_key: SigningKey,
    urls: PkiUrls,
    now: datetime,
    policy: str | None = None,
) -> x509.Certificate:
    """A department's e-seal: digitalSignature + nonRepudiation, OCSP and CRL pointers."""
    builder = _base_builder(subject, issuing_cert.subject, public_key, now, SEAL_LIFETIME)
    builder = _issued_by(builder, issuing_cert)
    builder = _revocation_pointers(builder, urls, "issuing", with_ocsp=True)
    builder = builder.add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    ).add_extension(_signing_key_usage(non_repudiation=True), critical=True)
    return _with_policy(builder, policy).sign(issuing_key, _SIGNATURE_HASH)


def credit_code_of(certificate: x509.Certificate) -> str | None:
    """The unified social credit code a certificate names, if any.

    Looks at organizationIdentifier (with or without the NTRCN- prefix), then
    at the attributes outside CAs commonly use for it (serialNumber, OU).
    """
    candidates: list[str] = []
    for oid in (
        NameOID.ORGANIZATION_IDENTIFIER,
        NameOID.SERIAL_NUMBER,
        NameOID.ORGANIZATIONAL_UNIT_NAME,
    ):
        for attribute in certificate.subject.get_attributes_for_oid(oid):
            value = attribute.value if isinstance(attribute.value, str) else ""
            candidates.append(value.removeprefix(ORGANISATION_ID_PREFIX))
    for candidate in candidates:
        try:
            return validate_credit_code(candidate)
        except InvalidCreditCodeError:
            continue
    return None
