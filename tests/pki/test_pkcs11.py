"""Seal keys on a SoftHSM2 token over PKCS#11: the same sealing, the key never on disk."""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr

from tests.helpers import DEPARTMENT_A, current_seal
from tests.licenses.pdf_checks import validate_offline
from tests.test_departments import _outside_pkcs12
from trustsvc.bootstrap import build_licenses, build_verifier, initialise_home, open_services
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import add_department
from trustsvc.departments.seals import import_seal
from trustsvc.errors import KeyStoreError
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.settings import Settings
from trustsvc.verification.report import Verdict

pytestmark = pytest.mark.hsm

MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


@dataclass(frozen=True)
class SoftHsm:
    module: Path
    token: str
    pin: str


@pytest.fixture(scope="session")
def softhsm(tmp_path_factory: pytest.TempPathFactory) -> SoftHsm:
    utility = shutil.which("softhsm2-util")
    if not (MODULE.exists() and utility):
        pytest.skip("SoftHSM2 is not installed (scripts/setup.sh installs it)")
    directory = tmp_path_factory.mktemp("softhsm")
    (directory / "tokens").mkdir()
    config = directory / "softhsm2.conf"
    tokens = directory / "tokens"
    config.write_text(
        f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n"
    )
    # SoftHSM reads its configuration when the library is first loaded in this process.
    os.environ["SOFTHSM2_CONF"] = str(config)
    pin = secrets.token_hex(4)
    subprocess.run(
        [utility, "--init-token", "--free", "--label", "trustsvc-tests", "--pin", pin,
         "--so-pin", secrets.token_hex(4)],
        check=True, capture_output=True, env={**os.environ},
    )  # fmt: skip
    return SoftHsm(MODULE, "trustsvc-tests", pin)


@pytest.fixture
def hsm_services(settings: Settings, clock: FixedClock, softhsm: SoftHsm) -> Iterator[Services]:
    hsm_settings = settings.model_copy(
        update={
            "seal_key_store": "pkcs11",
            "pkcs11_module": softhsm.module,
            "pkcs11_token": softhsm.token,
            "pkcs11_pin": SecretStr(softhsm.pin),
        }
    )
    initialise_home(hsm_settings, clock)
    services = open_services(hsm_settings, clock)
    try:
        yield services
    finally:
        services.close()


def test_the_seal_key_is_made_on_the_token(hsm_services: Services) -> None:
    add_department(hsm_services, "杭州市市场监督管理局", DEPARTMENT_A)
    assert not (hsm_services.settings.home / "keys").exists()
    certificate = current_seal(hsm_services, DEPARTMENT_A)
    # The certificate is published; the key is nowhere on disk.
    published = list((hsm_services.settings.home / "pki" / "seals").glob("*.pem"))
    assert len(published) == 1
    with hsm_services.database.begin() as session:
        from sqlalchemy import select

        from trustsvc.db.models import CertificateRecord, CertificateRole

        record = session.scalars(
            select(CertificateRecord).where(CertificateRecord.role == CertificateRole.SEAL)
        ).one()
        token_key = hsm_services.seal_keys.private_key(str(record.key_id))
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    assert token_key.public_key().public_bytes(serialization.Encoding.DER, spki) == (
        certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    )
    with pytest.raises(KeyStoreError, match="cannot leave"):
        token_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )


def test_a_license_sealed_on_the_token_verifies(hsm_services: Services) -> None:
    add_department(hsm_services, "杭州市市场监督管理局", DEPARTMENT_A)
    licenses = build_licenses(hsm_services)
    data = dict(example_data(get_type(licenses.types, "business-license")))
    identifier = licenses.issue(
        IssueRequest(DEPARTMENT_A, "business-license", data)
    ).license.identifier
    pdf = licenses.document(identifier)
    status, _dss = validate_offline(hsm_services, pdf)
    assert status.bottom_line
    assert (
        build_verifier(hsm_services, allow_fetching=False).verify_pdf(pdf).verdict is Verdict.VALID
    )


def test_importing_a_pkcs12_key_into_the_token_is_refused(
    hsm_services: Services, clock: FixedClock
) -> None:
    add_department(hsm_services, "杭州市市场监督管理局", DEPARTMENT_A, with_seal=False)
    data = _outside_pkcs12(clock, DEPARTMENT_A, b"pw")
    with pytest.raises(KeyStoreError, match="HSM's own tools"):
        import_seal(hsm_services, DEPARTMENT_A, data, b"pw")


def test_a_wrong_pin_is_a_clear_error(hsm_services: Services, softhsm: SoftHsm) -> None:
    from trustsvc.pki.pkcs11 import Pkcs11KeyStore

    store = Pkcs11KeyStore(softhsm.module, softhsm.token, SecretStr("wrong-pin"))
    with pytest.raises(KeyStoreError, match="cannot be opened"):
        store.private_key("anything")


def test_the_report_seal_key_is_made_on_the_token_and_seals_reports(
    hsm_services: Services,
) -> None:
    from trustsvc.verification.report_seal import ReportSealer, report_seal

    seal = report_seal(hsm_services)
    assert not (hsm_services.settings.home / "keys").exists()
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    token_key = hsm_services.seal_keys.private_key(seal.key_id)
    assert token_key.public_key().public_bytes(serialization.Encoding.DER, spki) == (
        seal.material.certificate.public_key().public_bytes(serialization.Encoding.DER, spki)
    )
    report = build_verifier(hsm_services, allow_fetching=False).verify_pdf(
        b"%PDF-1.7 not a license"
    )
    pdf = ReportSealer(hsm_services).seal(report)
    status, _dss = validate_offline(hsm_services, pdf)
    assert status.bottom_line
