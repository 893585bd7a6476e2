"""The service's own PKI in its home directory: created once, loaded on start.

Layout under the home::

    pki/certs/{root,issuing,tsa,ocsp}.pem   published certificates
    pki/keys/{root,issuing,tsa,ocsp}.key.pem   encrypted CA, TSA and OCSP keys
    pki/{certs,keys}/trust-list.*           the trust bundle's signer (homes made before
                                            issue 11 add it with `trustsvc trust-bundle-signer`)
    pki/seals/<key id>.pem                  every seal certificate, by its token key id
    keys/                                   department seal keys

The ``ocsp`` pair is the first responder only: its certificate lives days and
each serving process replaces it with one of its own (``keys.responder``).
The TSA certificate comes from the root directly: with the root key online in
the home (it signs the root CRL), a TSA issuing CA would add a key and a CRL
without separating anything.

``init_pki`` builds everything in a hidden folder and renames it into place
inside the database transaction that records the certificates, so a failure
at any step leaves neither a half-made folder nor orphan rows behind.
"""

from __future__ import annotations

import secrets
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from sqlalchemy import select

from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import CertificateRecord, CertificateRole
from trustsvc.errors import (
    ConfigurationError,
    HomeAlreadyInitialisedError,
    HomeNotInitialisedError,
)
from trustsvc.pki import ca
from trustsvc.pki.certificates import new_record, seal_key_id
from trustsvc.pki.keystore import FileKeyStore, SealKeyStore, SigningKey
from trustsvc.settings import Settings


class PkiName(StrEnum):
    """The service's own certificates and keys, by name: their file names under
    ``pki/``, their URLs (/pki/certs/{name}, /pki/crl/{name}) and the ``issuer_ca``
    of what they issue."""

    ROOT = "root"
    ISSUING = "issuing"
    TSA = "tsa"
    OCSP = "ocsp"
    #: The trust bundle's signer, issued by the issuing CA (optional in homes made before it).
    TRUST_LIST = "trust-list"


#: The certificates the PKI publishes at /pki/certs/{name}.
PUBLISHED = (PkiName.ROOT, PkiName.ISSUING, PkiName.TSA, PkiName.OCSP)
#: The CAs whose CRLs are published at /pki/crl/{name}.
CERTIFICATE_AUTHORITIES = (PkiName.ROOT, PkiName.ISSUING)
TRUST_LIST = PkiName.TRUST_LIST

_ROLES = {
    PkiName.ROOT: CertificateRole.ROOT_CA,
    PkiName.ISSUING: CertificateRole.ISSUING_CA,
    PkiName.TSA: CertificateRole.TSA,
    PkiName.OCSP: CertificateRole.OCSP,
    PkiName.TRUST_LIST: CertificateRole.TRUST_LIST,
}
_ISSUER = {
    PkiName.ROOT: None,
    PkiName.ISSUING: PkiName.ROOT,
    PkiName.TSA: PkiName.ROOT,
    PkiName.OCSP: PkiName.ISSUING,
    PkiName.TRUST_LIST: PkiName.ISSUING,
}


def pki_directory(home: Path) -> Path:
    return home / "pki"


def seal_key_store(settings: Settings) -> SealKeyStore:
    if settings.seal_key_store == "pkcs11":
        from trustsvc.pki.pkcs11 import Pkcs11KeyStore

        if settings.pkcs11_pin is None:
            raise ConfigurationError("TRUSTSVC_PKCS11_PIN is needed for the PKCS#11 key store")
        return Pkcs11KeyStore(settings.pkcs11_module, settings.pkcs11_token, settings.pkcs11_pin)
    return FileKeyStore(settings.home / "keys", settings.key_passphrase)


@dataclass(frozen=True)
class Pki:
    """The certificates of the service's PKI, and access to their keys."""

    certificates: dict[str, x509.Certificate]
    keys: FileKeyStore
    urls: ca.PkiUrls
    #: The operator's certificate policy OID, put in every certificate issued from now on.
    policy: str | None = None

    @property
    def root(self) -> x509.Certificate:
        return self.certificates[PkiName.ROOT]

    @property
    def issuing(self) -> x509.Certificate:
        return self.certificates[PkiName.ISSUING]

    @property
    def tsa(self) -> x509.Certificate:
        return self.certificates[PkiName.TSA]

    @property
    def ocsp(self) -> x509.Certificate:
        return self.certificates[PkiName.OCSP]

    @property
    def trust_list(self) -> x509.Certificate | None:
        """The trust bundle's signer, if the home has one."""
        return self.certificates.get(TRUST_LIST)

    def key(self, name: str) -> SigningKey:
        return self.keys.private_key(name)

    def check_keys(self) -> None:
        """Decrypt every key now, so a wrong passphrase fails at start, not mid-request."""
        for name in PUBLISHED:
            self.key(name)

    def pem(self, name: str) -> bytes:
        return self.certificates[name].public_bytes(serialization.Encoding.PEM)

    def der(self, name: str) -> bytes:
        return self.certificates[name].public_bytes(serialization.Encoding.DER)


def is_initialised(settings: Settings) -> bool:
    return (pki_directory(settings.home) / "certs" / "root.pem").is_file()


def load_pki(settings: Settings) -> Pki:
    directory = pki_directory(settings.home)
    if not is_initialised(settings):
        raise HomeNotInitialisedError(
            f"no PKI in home {settings.home}: run `trustsvc init` (or set TRUSTSVC_HOME)"
        )
    certificates: dict[str, x509.Certificate] = {}
    for name in PUBLISHED:
        try:
            pem = (directory / "certs" / f"{name}.pem").read_bytes()
            certificates[name] = x509.load_pem_x509_certificate(pem)
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"PKI certificate {name.value!r} in {directory} is unreadable"
            ) from exc
    signer = directory / "certs" / f"{TRUST_LIST}.pem"
    if signer.is_file():
        try:
            certificates[TRUST_LIST] = x509.load_pem_x509_certificate(signer.read_bytes())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"the trust bundle signer in {directory} is unreadable"
            ) from exc
    return Pki(
        certificates,
        FileKeyStore(directory / "keys", settings.key_passphrase),
        ca.PkiUrls(settings.pki_url_base),
        settings.certificate_policy,
    )


def _build(settings: Settings, keys: FileKeyStore, clock: Clock) -> dict[PkiName, x509.Certificate]:
    now = clock.now()
    urls = ca.PkiUrls(settings.pki_url_base)
    organisation = settings.organisation_name
    algorithm = settings.key_algorithm
    policy = settings.certificate_policy
    root_key = keys.create(PkiName.ROOT, algorithm)
    root = ca.build_root_ca(
        root_key, ca.service_name(organisation, f"{organisation} Root CA"), now, policy
    )
    issuing_key = keys.create(PkiName.ISSUING, algorithm)
    issuing = ca.build_issuing_ca(
        issuing_key,
        ca.service_name(organisation, f"{organisation} Seal Issuing CA"),
        root,
        root_key,
        urls,
        now,
        policy,
    )
    tsa = ca.build_tsa_certificate(
        keys.create(PkiName.TSA, algorithm),
        ca.service_name(organisation, f"{organisation} Timestamp Authority"),
        root,
        root_key,
        urls,
        now,
        policy,
    )
    ocsp = ca.build_ocsp_certificate(
        keys.create(PkiName.OCSP, algorithm),
        ca.service_name(organisation, f"{organisation} OCSP Responder"),
        issuing,
        issuing_key,
        now,
        urls=urls,
        policy=policy,
        lifetime=timedelta(hours=settings.ocsp_responder_lifetime_hours),
    )
    trust_list = _trust_list_certificate(settings, keys, issuing, issuing_key, now)
    return {
        PkiName.ROOT: root,
        PkiName.ISSUING: issuing,
        PkiName.TSA: tsa,
        PkiName.OCSP: ocsp,
        PkiName.TRUST_LIST: trust_list,
    }


def _trust_list_certificate(
    settings: Settings,
    keys: FileKeyStore,
    issuing: x509.Certificate,
    issuing_key: SigningKey,
    now: datetime,
) -> x509.Certificate:
    organisation = settings.organisation_name
    return ca.build_trust_list_certificate(
        keys.create(TRUST_LIST, settings.key_algorithm),
        ca.service_name(organisation, f"{organisation} Trust Bundle Signer"),
        issuing,
        issuing_key,
        ca.PkiUrls(settings.pki_url_base),
        now,
        policy=settings.certificate_policy,
    )


def add_trust_list_signer(settings: Settings, database: Database, clock: Clock) -> Pki:
    """Give a home made before issue 11 its trust bundle signer; all or nothing."""
    pki = load_pki(settings)
    if pki.trust_list is not None:
        raise HomeAlreadyInitialisedError(
            f"home {settings.home} has a trust bundle signer already; nothing was changed"
        )
    certificate_path = pki_directory(settings.home) / "certs" / f"{TRUST_LIST}.pem"
    keys = pki.keys
    try:
        certificate = _trust_list_certificate(
            settings, keys, pki.issuing, pki.key(PkiName.ISSUING), clock.now()
        )
        with database.begin() as session:
            session.add(
                new_record(
                    certificate,
                    CertificateRole.TRUST_LIST,
                    PkiName.ISSUING,
                    clock.now(),
                    key_id=TRUST_LIST,
                )
            )
            session.flush()
            temporary = certificate_path.with_suffix(f".{secrets.token_hex(4)}.tmp")
            temporary.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
            temporary.replace(certificate_path)
    except BaseException:
        certificate_path.unlink(missing_ok=True)
        keys.delete(TRUST_LIST)
        raise
    return load_pki(settings)


def init_pki(settings: Settings, database: Database, clock: Clock) -> Pki:
    """Create the PKI in the home and record its certificates; all or nothing."""
    target = pki_directory(settings.home)
    if target.exists():
        raise HomeAlreadyInitialisedError(
            f"home {settings.home} has a PKI already; nothing was changed"
        )
    settings.home.mkdir(parents=True, exist_ok=True)
    staging = settings.home / f".pki-{secrets.token_hex(6)}"
    staging.mkdir(mode=0o700)
    renamed = False
    try:
        keys = FileKeyStore(staging / "keys", settings.key_passphrase)
        certificates = _build(settings, keys, clock)
        (staging / "certs").mkdir()
        for name, certificate in certificates.items():
            (staging / "certs" / f"{name}.pem").write_bytes(
                certificate.public_bytes(serialization.Encoding.PEM)
            )
        with database.begin() as session:
            existing = session.scalar(
                select(CertificateRecord).where(CertificateRecord.role == CertificateRole.ROOT_CA)
            )
            if existing is not None:
                raise HomeAlreadyInitialisedError(
                    "the database already belongs to a PKI (a root CA is recorded); "
                    "use a fresh database or restore the home's pki folder"
                )
            now = clock.now()
            for name, certificate in certificates.items():
                session.add(new_record(certificate, _ROLES[name], _ISSUER[name], now, key_id=name))
            session.flush()
            staging.rename(target)
            renamed = True
    except BaseException:
        # Also when the commit itself failed after the rename.
        shutil.rmtree(target if renamed else staging, ignore_errors=True)
        raise
    return load_pki(settings)


def seal_certificate_directory(home: Path) -> Path:
    """Where every seal certificate is published as ``<key id>.pem``, for offline verifiers."""
    return pki_directory(home) / "seals"


def publish_seal_certificate(home: Path, certificate: x509.Certificate) -> None:
    directory = seal_certificate_directory(home)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{seal_key_id(certificate).hex()}.pem"
    temporary = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    temporary.replace(path)


def report_seal_certificate_directory(home: Path) -> Path:
    """Where the service's verification-report seal certificates are published as well,
    ``<key id>.pem``: what tells an offline verifier that a seal is the service's own note
    (a 加注件's), and not some other signature."""
    return pki_directory(home) / "report-seals"


def publish_report_seal_certificate(home: Path, certificate: x509.Certificate) -> None:
    """Publish a report seal, once: as a seal (``<key id>.pem``) and among the report seals."""
    directory = report_seal_certificate_directory(home)
    path = directory / f"{seal_key_id(certificate).hex()}.pem"
    if path.exists():
        return
    publish_seal_certificate(home, certificate)
    directory.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{secrets.token_hex(4)}.tmp")
    temporary.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    temporary.replace(path)


def published_report_seals(home: Path) -> tuple[x509.Certificate, ...]:
    """Every report seal certificate the home has published (none is not an error)."""
    directory = report_seal_certificate_directory(home)
    found = []
    for path in sorted(directory.glob("*.pem")) if directory.is_dir() else ():
        try:
            found.append(x509.load_pem_x509_certificate(path.read_bytes()))
        except (OSError, ValueError):
            continue  # not a certificate: trusted as nothing
    return tuple(found)


def published_seal_certificate(home: Path, kid: bytes) -> x509.Certificate | None:
    path = seal_certificate_directory(home) / f"{kid.hex()}.pem"
    try:
        return x509.load_pem_x509_certificate(path.read_bytes())
    except (OSError, ValueError):
        return None


def certified_base_url(home: Path) -> str | None:
    """The public URL the home's certificates name (CRL, OCSP and CA certificate pointers).

    It was fixed when the home was initialised: read from the issuing CA's CRL
    distribution point. None if the home has no PKI, or the pointer is not one
    this service wrote.
    """
    try:
        issuing = x509.load_pem_x509_certificate(
            (pki_directory(home) / "certs" / "issuing.pem").read_bytes()
        )
        points = issuing.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except (OSError, ValueError, x509.ExtensionNotFound):
        return None
    suffix = "/pki/crl/root"
    for point in points:
        for name in point.full_name or ():
            if isinstance(name, x509.UniformResourceIdentifier) and name.value.endswith(suffix):
                return name.value[: -len(suffix)]
    return None


def public_url_mismatch(settings: Settings) -> str | None:
    """A warning when the home's certificates name another public URL than ``settings``."""
    certified = certified_base_url(settings.home)
    if certified is None or certified == settings.public_base_url:
        return None
    return (
        f"the home's certificates send relying parties to {certified} for CRLs, OCSP and CA "
        f"certificates (fixed when it was initialised), but QR codes will name "
        f"{settings.public_base_url}; keep {certified} answering, or serve at it "
        "(TRUSTSVC_PUBLIC_BASE_URL, --port), or start a new home for the new address"
    )


def with_certified_base_url(settings: Settings) -> Settings:
    """Outside ``serve``, an unset public URL is the one the home's certificates name.

    So that a license issued from the command line names the address the home
    is served at (``serve --port`` initialises a fresh home for its own port),
    not the development default.
    """
    if settings.public_base_url_is_set or settings.production:
        return settings
    certified = certified_base_url(settings.home)
    return settings.with_public_base_url(certified) if certified else settings
