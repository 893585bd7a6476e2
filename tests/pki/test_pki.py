from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko_certvalidator.errors import PathValidationError, RevokedError
from pyhanko_certvalidator.policy_decl import RevocationCheckingRule

from tests.conftest import LiveServer
from tests.helpers import DEPARTMENT_A, current_seal, validate_seal_certificate
from trustsvc.bootstrap import initialise_home
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import add_department
from trustsvc.departments.seals import revoke_seal
from trustsvc.errors import HomeAlreadyInitialisedError
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm, Settings


def test_keys_are_encrypted_and_private(services: Services) -> None:
    key_dir = services.settings.home / "pki" / "keys"
    assert stat.S_IMODE(key_dir.stat().st_mode) == 0o700
    for name in ("root", "issuing", "tsa", "ocsp"):
        path = key_dir / f"{name}.key.pem"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # Encrypted: unreadable without the passphrase, readable with it.
        with pytest.raises(TypeError, match="encrypted"):
            serialization.load_pem_private_key(path.read_bytes(), password=None)
        passphrase = services.settings.key_passphrase.get_secret_value().encode()
        serialization.load_pem_private_key(path.read_bytes(), password=passphrase)


def test_init_refuses_to_overwrite_a_home(services: Services, clock: FixedClock) -> None:
    before = (services.settings.home / "pki" / "certs" / "root.pem").read_bytes()
    with pytest.raises(HomeAlreadyInitialisedError):
        initialise_home(services.settings, clock)
    assert (services.settings.home / "pki" / "certs" / "root.pem").read_bytes() == before


def test_init_leaves_nothing_when_the_database_already_has_a_pki(
    services: Services, clock: FixedClock, tmp_path: Path
) -> None:
    other_home = services.settings.model_copy(
        update={"home": tmp_path / "other", "database_url": services.settings.resolved_database_url}
    )
    with pytest.raises(HomeAlreadyInitialisedError, match="database already belongs"):
        initialise_home(other_home, clock)
    assert sorted(p.name for p in (tmp_path / "other").iterdir()) == []


def test_ca_profiles(services: Services) -> None:
    root, issuing, tsa, ocsp = (
        services.pki.certificates[n] for n in ("root", "issuing", "tsa", "ocsp")
    )
    assert root.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    issuing_bc = issuing.extensions.get_extension_for_class(x509.BasicConstraints)
    assert issuing_bc.critical and issuing_bc.value.ca and issuing_bc.value.path_length == 0
    eku = tsa.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [ExtendedKeyUsageOID.TIME_STAMPING]
    ocsp_eku = ocsp.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(ocsp_eku) == [ExtendedKeyUsageOID.OCSP_SIGNING]
    assert ocsp.extensions.get_extension_for_class(x509.OCSPNoCheck)
    assert ocsp.issuer == issuing.subject


def test_seal_certificate_profile(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100")
    seal = current_seal(services, DEPARTMENT_A)
    usage = seal.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not seal.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    org_id = seal.subject.get_attributes_for_oid(NameOID.ORGANIZATION_IDENTIFIER)[0].value
    assert org_id == f"NTRCN-{DEPARTMENT_A}"
    assert (
        seal.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "杭州市市场监督管理局"
    )
    base = services.settings.public_base_url
    aia = seal.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert {d.access_location.value for d in aia} == {
        f"{base}/pki/ocsp",
        f"{base}/pki/certs/issuing.der",
    }
    crl_dp = seal.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name is not None
    assert crl_dp[0].full_name[0].value == f"{base}/pki/crl/issuing"


@pytest.mark.parametrize(
    "rule", [RevocationCheckingRule.OCSP_REQUIRED, RevocationCheckingRule.CRL_REQUIRED]
)
def test_seal_chain_validates_with_revocation_fetched_over_http(
    services: Services, live_server: LiveServer, rule: RevocationCheckingRule
) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    seal = current_seal(services, DEPARTMENT_A)
    path = validate_seal_certificate(services, seal, rule)
    assert len(path) == 3


@pytest.mark.parametrize(
    "rule", [RevocationCheckingRule.OCSP_REQUIRED, RevocationCheckingRule.CRL_REQUIRED]
)
def test_revoked_seal_is_reported_revoked_over_http(
    services: Services, live_server: LiveServer, rule: RevocationCheckingRule
) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    seal = current_seal(services, DEPARTMENT_A)
    # Fetch a CRL first, so the test also proves a fresh one is issued on revocation.
    services.revocation.current_crl("issuing")
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    with pytest.raises(RevokedError):
        validate_seal_certificate(services, seal, rule)


def test_validation_fails_closed_when_revocation_cannot_be_fetched(services: Services) -> None:
    # No server is running: the required revocation answer cannot be had.
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    seal = current_seal(services, DEPARTMENT_A)
    with pytest.raises(PathValidationError):
        validate_seal_certificate(services, seal, RevocationCheckingRule.OCSP_REQUIRED)


def test_rsa_3072_pki(tmp_path: Path, clock: FixedClock) -> None:
    settings = Settings(home=tmp_path / "rsa", key_algorithm=KeyAlgorithm.RSA_3072)
    pki = initialise_home(settings, clock)
    key = pki.key("root")
    assert key.key_size == 3072  # type: ignore[union-attr]
