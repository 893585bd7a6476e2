"""`verify-token --offline --trust-bundle FILE` and `trust-bundle-signer` (issue 11, item 8)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.running import invoke
from tests.helpers import DEPARTMENT_A
from trustsvc.departments.seals import revoke_seal
from trustsvc.licenses import production as license_service
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.pki.bundle import bundle_document, sign_bundle
from trustsvc.pki.home import TRUST_LIST, pki_directory
from trustsvc.services import Services
from trustsvc.settings import Settings


def _printed_token(licenses: IssuingService, monkeypatch: pytest.MonkeyPatch) -> str:
    printed: list[str] = []
    sign = license_service.sign_token

    def recording(*args: object) -> str:
        token = sign(*args)  # type: ignore[arg-type]
        printed.append(token)
        return token

    monkeypatch.setattr(license_service, "sign_token", recording)
    data = dict(example_data(get_type(licenses.types, "business-license")))
    licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data))
    return printed[-1]


def _bundle(services: Services, path: Path) -> Path:
    services = services
    _version, document = bundle_document(
        services.database, services.clock.now(), services.settings.public_base_url
    )
    path.write_bytes(sign_bundle(services.pki, document))
    return path


def test_an_offline_check_takes_the_seal_status_from_a_trust_bundle(
    services: Services,
    licenses: IssuingService,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    token = _printed_token(licenses, monkeypatch)
    current = _bundle(services, tmp_path / "current.p7m")
    code, out, err = invoke(
        settings, "verify-token", token, "--offline", "--trust-bundle", str(current), "--json"
    )
    assert code == 3, err  # valid_offline: the seal holds; the library was not asked
    assert json.loads(out)["verdict"] == "valid_offline"
    assert "trust bundle version" in err
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    later = _bundle(services, tmp_path / "later.p7m")
    code, out, err = invoke(
        settings, "verify-token", token, "--offline", "--trust-bundle", str(later), "--json"
    )
    assert code == 1, err
    answer = json.loads(out)
    assert "token_seal_revoked" in [reason["code"] for reason in answer["reasons"]]
    assert answer["scope"] == "offline"  # the bundle spoke, the library was not read
    # The older bundle does not know of the revocation: what it says is what counts offline.
    code, _out, err = invoke(
        settings, "verify-token", token, "--offline", "--trust-bundle", str(current)
    )
    assert code == 3, err


def test_a_bad_bundle_or_an_online_check_with_one_is_one_line(
    services: Services,
    licenses: IssuingService,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    token = _printed_token(licenses, monkeypatch)
    bundle = _bundle(services, tmp_path / "bundle.p7m")
    tampered = tmp_path / "tampered.p7m"
    tampered.write_bytes(bundle.read_bytes().replace(b'"status":"good"', b'"status":"evil"', 1))
    for arguments in (
        ["--offline", "--trust-bundle", str(tampered)],
        ["--trust-bundle", str(bundle)],
    ):
        code, _out, err = invoke(settings, "verify-token", token, *arguments)
        assert code == 65, err
        assert err.startswith("trustsvc: error: ") and len(err.strip().splitlines()) == 1


def test_trust_bundle_signer_adds_the_signer_to_an_older_home(settings: Settings) -> None:
    from trustsvc.bootstrap import initialise_home

    initialise_home(settings)
    code, _out, err = invoke(settings, "trust-bundle-signer")
    assert code != 0 and "already" in err
    # A home as issue 10 made it: no trust-list certificate or key.
    (pki_directory(settings.home) / "certs" / f"{TRUST_LIST}.pem").unlink()
    (pki_directory(settings.home) / "keys" / f"{TRUST_LIST}.key.pem").unlink()
    code, out, err = invoke(settings, "trust-bundle-signer")
    assert code == 0, err
    assert "Trust Bundle Signer" in out
    assert (pki_directory(settings.home) / "certs" / f"{TRUST_LIST}.pem").is_file()
