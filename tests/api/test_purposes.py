"""The purpose catalogue (用证事由): clients state only its purposes, and a lookup
answers only with licenses of the types its purpose may see."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest

from tests.api.conftest import CITIZEN_ID, Api
from tests.cli.running import trustsvc_process
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.audit.operators import operator_events
from trustsvc.errors import ConflictError, InvalidInputError, NotFoundError
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.sharing.clients import add_client, revoke_client
from trustsvc.sharing.purposes import add_purpose, list_purposes, remove_purpose

ACCOUNT = "开立对公账户"


def _bank(api: Api) -> dict[str, str]:
    """A bank that may look up only for opening a corporate account (business licenses)."""
    add_purpose(api.services, ACCOUNT, ["business-license"])
    _info, key = add_client(api.services, "某商业银行", "verifier", purposes=[ACCOUNT])
    return {"Authorization": f"Bearer {key.secret}"}


def _get(api: Api, path: str, headers: dict[str, str], **params: Any) -> Any:
    return api.http.get(path, params={"purpose": ACCOUNT, **params}, headers=headers)


def test_a_lookup_returns_only_licenses_of_the_types_its_purpose_may_see(api: Api) -> None:
    bank = _bank(api)
    api.issue()  # the citizen's 不动产权证书
    company = example_data(get_type(api.licenses.types, "business-license"))["holder_id"]
    business = api.issue("business-license")
    holdings = _get(api, "/api/v1/holders/licenses", bank, holder_id=CITIZEN_ID)
    assert holdings.status_code == 200, holdings.text
    assert holdings.json() == {"holds": False, "licenses": []}
    of_company = _get(api, "/api/v1/holders/licenses", bank, holder_id=company)
    assert [s["identifier"] for s in of_company.json()["licenses"]] == [business]
    held = _get(api, "/api/v1/lookup", bank, holder_id=company, type="business-license")
    assert held.json()["holds"] is True

    refused = _get(
        api, "/api/v1/lookup", bank, holder_id=CITIZEN_ID, type="real-estate-certificate"
    )
    assert refused.status_code == 403, refused.text
    assert refused.json()["code"] == "purpose-refused"
    assert "real-estate-certificate" in refused.json()["title"]
    events = api.http.get("/api/v1/access-events", headers=api.as_("admin")).json()
    newest = events[0]
    assert (newest["action"], newest["outcome"], newest["refusal"], newest["purpose"]) == (
        "lookup",
        "refused",
        "purpose-refused",
        ACCOUNT,
    )
    assert newest["licenses"] == []


def test_a_verifier_may_state_only_purposes_of_the_catalogue(api: Api) -> None:
    with pytest.raises(InvalidInputError, match="not in the catalogue: 随便看看"):
        add_client(api.services, "某银行", "verifier", purposes=["随便看看"])
    made = api.http.post(
        "/api/v1/clients",
        json={"name": "某银行", "role": "verifier", "purposes": ["随便看看"]},
        headers=api.as_("admin"),
    )
    assert made.status_code == 422 and made.json()["code"] == "invalid-input"
    assert "某银行" not in [
        c["name"] for c in api.http.get("/api/v1/clients", headers=api.as_("admin")).json()
    ]


def test_admins_see_the_catalogue_with_its_types(api: Api) -> None:
    add_purpose(api.services, ACCOUNT, ["business-license", "business-license"])
    listed = api.http.get("/api/v1/purposes", headers=api.as_("admin"))
    assert listed.status_code == 200, listed.text
    [entry] = [p for p in listed.json() if p["name"] == ACCOUNT]
    assert entry["types"] == ["business-license"] and entry["migrated"] is False
    assert api.http.get("/api/v1/purposes", headers=api.as_("verifier")).status_code == 403


def test_a_purpose_needs_known_types_and_is_removed_only_when_unused(api: Api) -> None:
    services = api.services
    with pytest.raises(NotFoundError, match="no license type"):
        add_purpose(services, "办理签证", ["passport"])
    with pytest.raises(InvalidInputError, match="at least one"):
        add_purpose(services, "办理签证", [])
    _bank(api)
    with pytest.raises(ConflictError, match="in the catalogue already"):
        add_purpose(services, ACCOUNT, ["real-estate-certificate"])
    with pytest.raises(ConflictError, match="某商业银行"):
        remove_purpose(services, ACCOUNT)
    revoke_client(services, "某商业银行")
    assert remove_purpose(services, ACCOUNT).types == ("business-license",)
    assert ACCOUNT not in [p.name for p in list_purposes(services)]
    actions = [(e.action, e.target) for e in operator_events(services, limit=3)]
    assert actions[0] == ("purpose_remove", ACCOUNT)


def test_verifying_a_document_the_holder_hands_over_is_not_bound_to_the_types(
    api: Api,
) -> None:
    """A clerk checks what the citizen shows: the purpose is recorded, not a type filter."""
    bank = _bank(api)
    identifier = api.issue()  # a 不动产权证书, which 开立对公账户 may not look up
    [link] = read_qr_codes(api.licenses.document(identifier))
    answer = _get(api, f"/api/v1/verify/token/{link.rsplit('/', 1)[1]}", bank)
    assert answer.status_code == 200 and answer.json()["verdict"] == "valid"
    [event] = api.http.get("/api/v1/access-events", headers=api.as_("admin")).json()
    assert (event["purpose"], event["outcome"]) == (ACCOUNT, "answered")


def test_the_purpose_commands(services: Services) -> None:
    def run(*arguments: str) -> subprocess.CompletedProcess[str]:
        return trustsvc_process(
            ["--home", str(services.settings.home), *arguments],
            {
                "TRUSTSVC_DATABASE_URL": services.settings.resolved_database_url,
                "TRUSTSVC_KEY_PASSPHRASE": services.settings.key_passphrase.get_secret_value(),
                "PATH": "/usr/bin:/bin",
            },
            timeout=60,
        )

    unknown = run("client", "add", "某银行", "--role", "verifier", "--purpose", ACCOUNT)
    assert unknown.returncode == 65
    assert unknown.stderr.startswith("trustsvc: error: purpose(s) not in the catalogue")
    assert len(unknown.stderr.strip().splitlines()) == 1
    added = run("purpose", "add", ACCOUNT, "--type", "business-license")
    assert added.returncode == 0, added.stderr
    listed = run("purpose", "list")
    assert ACCOUNT in listed.stdout and "business-license" in listed.stdout
    assert (
        run("client", "add", "某银行", "--role", "verifier", "--purpose", ACCOUNT).returncode == 0
    )
    busy = run("purpose", "remove", ACCOUNT)
    assert busy.returncode == 65 and "某银行" in busy.stderr
