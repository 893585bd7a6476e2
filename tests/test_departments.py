from __future__ import annotations

import stat
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B
from trustsvc.bootstrap import open_services
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import add_department, list_departments
from trustsvc.departments.seals import (
    SealImportError,
    SealImportRefusal,
    import_seal,
    new_seal,
    revoke_seal,
)
from trustsvc.errors import (
    DuplicateDepartmentError,
    HomeNotInitialisedError,
    InvalidCreditCodeError,
    InvalidInputError,
    NotFoundError,
    WrongPassphraseError,
)
from trustsvc.pki import ca
from trustsvc.pki.keystore import generate_private_key
from trustsvc.services import Services
from trustsvc.settings import KeyAlgorithm, Settings


def _key_files(services: Services) -> list[Path]:
    directory = services.settings.home / "keys"
    return sorted(directory.iterdir()) if directory.exists() else []


def test_add_department_issues_a_private_seal_key(services: Services) -> None:
    info = add_department(services, "  杭州市 市场监督管理局 ", DEPARTMENT_A.lower(), "330100")
    assert info.code == DEPARTMENT_A and info.name == "杭州市 市场监督管理局"
    assert info.region_code == "330100"
    assert len(info.seals) == 1 and info.seals[0].issued_by_service
    [key_file] = _key_files(services)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("code", "region", "error"),
    [
        ("91330100MA2XXXXXX1", None, InvalidCreditCodeError),
        ("123", None, InvalidCreditCodeError),
        (DEPARTMENT_A, "990100", InvalidInputError),
        (DEPARTMENT_A, "33010", InvalidInputError),
    ],
)
def test_bad_input_creates_nothing(
    services: Services, code: str, region: str | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        add_department(services, "某局", code, region)
    assert list_departments(services) == []
    assert _key_files(services) == []


def test_empty_name_is_refused(services: Services) -> None:
    with pytest.raises(InvalidInputError, match="name"):
        add_department(services, "   ", DEPARTMENT_A)


def test_duplicate_department_is_refused_and_changes_nothing(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    keys_before = _key_files(services)
    with pytest.raises(DuplicateDepartmentError):
        add_department(services, "另一个名字", DEPARTMENT_A)
    assert [d.name for d in list_departments(services)] == ["杭州市市场监督管理局"]
    assert _key_files(services) == keys_before


def test_a_failure_while_issuing_the_seal_leaves_nothing(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> x509.Certificate:
        raise RuntimeError("CA unavailable")

    monkeypatch.setattr(ca, "build_seal_certificate", broken)
    with pytest.raises(RuntimeError):
        add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    assert list_departments(services) == []
    assert _key_files(services) == []


def test_missing_home_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(HomeNotInitialisedError, match="trustsvc init"):
        open_services(Settings(home=tmp_path / "nowhere"))


def test_wrong_passphrase_is_a_clear_error(services: Services) -> None:
    wrong = services.settings.model_copy(update={"key_passphrase": SecretStr("not the one")})
    with pytest.raises(WrongPassphraseError, match="passphrase"):
        open_services(wrong)


def test_revoke_then_new_seal(services: Services) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A)
    [revoked] = revoke_seal(services, DEPARTMENT_A, "superseded")
    assert revoked.revoked_at is not None and revoked.revocation_reason == "superseded"
    with pytest.raises(NotFoundError, match="no unrevoked seal"):
        revoke_seal(services, DEPARTMENT_A)
    info = new_seal(services, DEPARTMENT_A)
    assert [s.revoked_at is None for s in info.seals] == [False, True]
    with pytest.raises(InvalidInputError, match="reason"):
        revoke_seal(services, DEPARTMENT_A, "because")
    with pytest.raises(NotFoundError):
        revoke_seal(services, DEPARTMENT_B)


# ---- seals from an outside CA ---------------------------------------------------


def _outside_pkcs12(
    clock: FixedClock, code: str, password: bytes, *, ca_flag: bool = False, expired: bool = False
) -> bytes:
    """A PKCS#12 from a CA that is not the service's, as a provincial CA would issue
    (``expired``: its seal certificate ended yesterday)."""
    now = clock.now() - timedelta(days=400) if expired else clock.now()
    ca_key = generate_private_key(KeyAlgorithm.EC_P256)
    ca_name = ca.service_name("Outside CA", "Outside Seal CA")
    outside_root = ca.build_root_ca(ca_key, ca_name, now)
    seal_key = generate_private_key(KeyAlgorithm.EC_P256)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, code),
            x509.NameAttribute(NameOID.COMMON_NAME, "杭州市市场监督管理局"),
        ]
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_name)
        .public_key(seal_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=ca_flag, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, True, False, False, False, ca_flag, ca_flag, False, False),
            critical=True,
        )
    )
    certificate = builder.sign(ca_key, ca._SIGNATURE_HASH)
    return pkcs12.serialize_key_and_certificates(
        b"seal", seal_key, certificate, [outside_root], BestAvailableEncryption(password)
    )


def test_import_seal_from_an_outside_ca(services: Services, clock: FixedClock) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, with_seal=False)
    assert _key_files(services) == []
    info = import_seal(services, DEPARTMENT_A, _outside_pkcs12(clock, DEPARTMENT_A, b"pw"), b"pw")
    [seal] = info.seals
    assert not seal.issued_by_service
    assert len(_key_files(services)) == 1


@pytest.mark.parametrize(
    ("builder_code", "password", "ca_flag", "message"),
    [
        (DEPARTMENT_A, b"wrong", False, "wrong password"),
        (DEPARTMENT_B, b"pw", False, "names credit code"),
        (DEPARTMENT_A, b"pw", True, "CA certificate"),
    ],
)
def test_bad_imports_are_refused_and_leave_no_key(
    services: Services,
    clock: FixedClock,
    builder_code: str,
    password: bytes,
    ca_flag: bool,
    message: str,
) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, with_seal=False)
    data = _outside_pkcs12(clock, builder_code, b"pw", ca_flag=ca_flag)
    with pytest.raises(InvalidInputError, match=message):
        import_seal(services, DEPARTMENT_A, data, password)
    assert _key_files(services) == []


@pytest.mark.parametrize(
    ("builder_code", "password", "expired", "refusal"),
    [
        (DEPARTMENT_A, b"wrong", False, SealImportRefusal.UNREADABLE),
        (DEPARTMENT_B, b"pw", False, SealImportRefusal.OTHER_DEPARTMENT),
        (DEPARTMENT_A, b"pw", True, SealImportRefusal.NOT_VALID_NOW),
    ],
)
def test_a_refused_import_says_which_rule_it_broke(
    services: Services,
    clock: FixedClock,
    builder_code: str,
    password: bytes,
    expired: bool,
    refusal: SealImportRefusal,
) -> None:
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, with_seal=False)
    data = _outside_pkcs12(clock, builder_code, b"pw", expired=expired)
    with pytest.raises(SealImportError) as refused:
        import_seal(services, DEPARTMENT_A, data, password)
    assert refused.value.refusal is refusal
    imported = _outside_pkcs12(clock, DEPARTMENT_A, b"pw")
    import_seal(services, DEPARTMENT_A, imported, b"pw")
    with pytest.raises(SealImportError) as again:
        import_seal(services, DEPARTMENT_A, imported, b"pw")
    assert again.value.refusal is SealImportRefusal.REGISTERED


def test_importing_into_an_unknown_department_leaves_no_key(
    services: Services, clock: FixedClock
) -> None:
    with pytest.raises(NotFoundError):
        import_seal(services, DEPARTMENT_A, _outside_pkcs12(clock, DEPARTMENT_A, b"pw"), b"pw")
    assert _key_files(services) == []
