from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError

from trustsvc.errors import ConfigurationError
from trustsvc.settings import DEVELOPMENT_PASSPHRASE, DOCUMENTATION_OID_ARC, Settings


def test_development_defaults_are_fine_outside_production(tmp_path: Path) -> None:
    Settings(home=tmp_path).check_production()


def test_the_development_sign_in_is_off_unless_asked_for(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path)
    assert settings.development_sign_in is False
    assert not any("SIGN_IN" in found for found in settings.development_defaults_in_use())


def test_production_refuses_each_development_default(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, production=True, development_sign_in=True)
    with pytest.raises(ConfigurationError) as caught:
        settings.check_production()
    message = caught.value.message
    assert "development passphrase" in message
    assert "SIGN_IN" in message
    assert "https" in message
    assert DEVELOPMENT_PASSPHRASE not in message


def test_production_accepts_a_real_configuration(tmp_path: Path) -> None:
    Settings(
        home=tmp_path,
        production=True,
        key_passphrase=SecretStr("a long and private passphrase"),
        development_sign_in=False,
        public_base_url="https://licenses.example.gov.cn/",
        oid_arc=OPERATOR_ARC,
    ).check_production()


#: A UUID arc (ITU-T X.667): an operator's own without registration.
OPERATOR_ARC = "2.25.329800735698586629295641978511506172918"


def test_production_refuses_the_documentation_oid_arc(tmp_path: Path) -> None:
    real = {
        "key_passphrase": SecretStr("a long and private passphrase"),
        "development_sign_in": False,
        "public_base_url": "https://licenses.example.gov.cn/",
    }
    for placeholder in (
        {},
        {"oid_arc": DOCUMENTATION_OID_ARC + ".5"},
        {"oid_arc": OPERATOR_ARC, "certificate_policy_oid": DOCUMENTATION_OID_ARC + ".1.1"},
    ):
        settings = Settings(home=tmp_path, production=True, **real, **placeholder)  # type: ignore[arg-type]
        with pytest.raises(ConfigurationError, match="RFC 5612"):
            settings.check_production()


def test_oids_are_derived_from_the_operator_arc_and_checked() -> None:
    settings = Settings(oid_arc=OPERATOR_ARC)
    assert settings.certificate_policy == f"{OPERATOR_ARC}.1.1"
    assert settings.tsa_policy == f"{OPERATOR_ARC}.2.1"
    assert Settings(
        oid_arc=OPERATOR_ARC, certificate_policy_oid="1.2.156.1"
    ).certificate_policy == ("1.2.156.1")
    assert Settings().tsa_policy == f"{DOCUMENTATION_OID_ARC}.2.1"
    for bad in ("", "1", "3.1", "1.40.1", "1.3.6.1.4.1.", "1.3.06", "1.3.x", "1.2 .3"):
        with pytest.raises(ValidationError):
            Settings(oid_arc=bad)
    # The PKI's pointers may be plain http (ETSI EN 319 412-2) while people get https.
    split = Settings(public_base_url="https://a.example", pki_base_url="http://pki.a.example/")
    assert split.pki_url_base == "http://pki.a.example"
    assert Settings(public_base_url="https://a.example").pki_url_base == "https://a.example"


def test_an_ocsp_answer_never_outlives_its_responder_certificate() -> None:
    assert Settings(ocsp_lifetime_hours=12, ocsp_responder_lifetime_hours=24)
    with pytest.raises(ValidationError, match="at least twice"):
        Settings(ocsp_lifetime_hours=24, ocsp_responder_lifetime_hours=47)


def test_secrets_do_not_show_in_repr() -> None:
    settings = Settings(key_passphrase=SecretStr("do-not-print-me"))
    assert "do-not-print-me" not in repr(settings)
    assert "do-not-print-me" not in str(settings.model_dump())


def test_public_url_must_be_http() -> None:
    with pytest.raises(ValidationError):
        Settings(public_base_url="ftp://example.org")
    assert Settings(public_base_url="https://x.example/").public_base_url == "https://x.example"


def test_default_database_is_sqlite_in_the_home(tmp_path: Path) -> None:
    url = Settings(home=tmp_path).resolved_database_url
    assert url.startswith("sqlite:///") and url.endswith("trustsvc.db")


def test_environment_is_read_when_asked_not_at_import(tmp_path: Path) -> None:
    # A broken environment must not break importing the package, only loading settings.
    code = (
        "import trustsvc.settings, trustsvc.api.app, trustsvc.cli\n"
        "try:\n"
        "    trustsvc.settings.load_settings()\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={"TRUSTSVC_CRL_LIFETIME_HOURS": "not-a-number", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == "ValidationError"


def test_domain_does_not_import_the_web_framework() -> None:
    code = (
        "import sys\n"
        "import trustsvc.codes.identifiers, trustsvc.pki.home, trustsvc.pki.tsa\n"
        "import trustsvc.pki.revocation, trustsvc.departments.seals, trustsvc.bootstrap\n"
        "print('fastapi' in sys.modules, 'starlette' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"
