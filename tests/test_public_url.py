"""`serve --port` and the public URL agree; production names its URL itself."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
import requests
from cryptography import x509
from pydantic import SecretStr

from tests.cli.running import TRUSTSVC, assert_one_line_error, run
from tests.conftest import free_port
from trustsvc.errors import ConfigurationError
from trustsvc.pki.home import certified_base_url, public_url_mismatch, with_certified_base_url
from trustsvc.services import Services
from trustsvc.settings import Settings, development_base_url


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1", "http://127.0.0.1:8731"),
        ("0.0.0.0", "http://127.0.0.1:8731"),  # noqa: S104
        ("::", "http://127.0.0.1:8731"),
        ("::1", "http://[::1]:8731"),
        ("licenses.test", "http://licenses.test:8731"),
    ],
)
def test_the_development_url_follows_host_and_port(host: str, url: str) -> None:
    assert development_base_url(host, 8731) == url


def test_production_refuses_an_unset_public_url(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path,
        production=True,
        key_passphrase=SecretStr("a long and private passphrase"),
        development_sign_in=False,
    )
    assert not settings.public_base_url_is_set
    with pytest.raises(ConfigurationError, match="TRUSTSVC_PUBLIC_BASE_URL is not set"):
        settings.check_production()


def test_serve_refuses_to_start_in_production_without_a_public_url(tmp_path: Path) -> None:
    result = run(
        tmp_path / "home",
        "serve",
        "--port",
        str(free_port()),
        env={"TRUSTSVC_PRODUCTION": "true", "TRUSTSVC_DEVELOPMENT_SIGN_IN": "false"},
    )
    assert_one_line_error(result, 78, "TRUSTSVC_PUBLIC_BASE_URL is not set")
    assert not (tmp_path / "home" / "pki").exists()


def test_a_home_knows_the_url_its_certificates_name(services: Services) -> None:
    settings = services.settings
    assert certified_base_url(settings.home) == settings.public_base_url
    assert public_url_mismatch(settings) is None
    moved = settings.with_public_base_url("http://127.0.0.1:8731")
    warning = public_url_mismatch(moved)
    assert warning is not None
    assert settings.public_base_url in warning and "http://127.0.0.1:8731" in warning
    # Outside serve, an unset URL is the home's, not the development default.
    unset = Settings(home=settings.home, key_passphrase=settings.key_passphrase)
    assert with_certified_base_url(unset).public_base_url == settings.public_base_url
    assert with_certified_base_url(moved).public_base_url == "http://127.0.0.1:8731"


def _serve(home: Path, port: int) -> subprocess.Popen[str]:
    environment = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "TRUSTSVC_HOME": str(home)}
    return subprocess.Popen(
        [*TRUSTSVC, "serve", "--port", str(port)],
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_ready(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert process.poll() is None, process.communicate()
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "server did not become ready"
        time.sleep(0.1)


def test_serve_on_another_port_names_that_port_everywhere(tmp_path: Path) -> None:
    home = tmp_path / "home"
    port = free_port()
    process = _serve(home, port)
    try:
        _wait_ready(process, port)
        der = requests.get(f"http://127.0.0.1:{port}/pki/certs/issuing.der", timeout=5).content
    finally:
        process.terminate()
        _out, err = process.communicate(timeout=20)
    expected = f"http://127.0.0.1:{port}"
    assert f"the public URL is {expected}, from --host and --port" in err
    points = (
        x509.load_der_x509_certificate(der)
        .extensions.get_extension_for_class(x509.CRLDistributionPoints)
        .value
    )
    assert [n.value for p in points for n in p.full_name or ()] == [f"{expected}/pki/crl/root"]
    assert certified_base_url(home) == expected
    assert "warning" not in err
