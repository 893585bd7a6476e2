"""A holder's grants (授权) through the API: made, listed, withdrawn, and lookups under them.

A lookup naming a grant is answered only while the grant is current, for its
purpose and its grantee, with its one license; answered or refused, the
holder's record names the grant.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.api.conftest import CITIZEN_ID, PURPOSES, Api, csrf_token_of
from tests.helpers import DEPARTMENT_B
from trustsvc.audit.events import EventKind, decode_entry
from trustsvc.audit.ledger import LedgerKeys, verify_ledger
from trustsvc.bootstrap import build_log_key
from trustsvc.clock import FixedClock
from trustsvc.db.models import LogEntry
from trustsvc.licenses.library import Action
from trustsvc.sharing.clients import add_client

OTHER_CITIZEN = "11010519491231002X"
AGENT_ID = "110101199003071233"


def _later(clock: FixedClock, **delta: float) -> str:
    return (clock.now() + timedelta(**delta)).isoformat()


def _grant(holder: TestClient, clock: FixedClock, identifier: str, **fields: Any) -> Any:
    body = {
        "identifier": identifier,
        "grantee_kind": "client",
        "client": "verifier",
        "purpose": PURPOSES[0],
        "valid_until": _later(clock, days=7),
        **fields,
    }
    return holder.post("/api/v1/me/grants", json=body)


def _lookup(api: Api, who: str = "verifier", **params: str) -> Any:
    query = {
        "holder_id": CITIZEN_ID,
        "type": "real-estate-certificate",
        "purpose": PURPOSES[0],
        **params,
    }
    return api.http.get("/api/v1/lookup", params=query, headers=api.as_(who))


def _record(holder: TestClient, section: str = "uses") -> list[dict[str, Any]]:
    answer = holder.get("/api/v1/me/access-record", params={"section": section})
    assert answer.status_code == 200, answer.text
    entries: list[dict[str, Any]] = answer.json()["entries"]
    return entries


def _key(api: Api, name: str, **options: Any) -> str:
    _info, key = add_client(api.services, name, "verifier", **options)
    api.keys[name] = key.secret
    return name


def test_a_lookup_under_a_grant_is_answered_and_recorded_against_it(
    api: Api, clock: FixedClock
) -> None:
    identifier = api.issue()
    holder = api.holder()
    made = _grant(holder, clock, identifier)
    assert made.status_code == 201, made.text
    grant = made.json()
    assert grant["status"] == "current" and grant["grantee"] == "verifier" and grant["uses"] == 0

    answer = _lookup(api, grant=grant["id"])
    assert answer.status_code == 200, answer.text
    assert [x["identifier"] for x in answer.json()["licenses"]] == [identifier]
    used = _record(holder)
    assert used[0]["grant_id"] == grant["id"] and used[0]["outcome"] == "answered"
    assert _lookup(api).status_code == 200  # on its own account: recorded without a grant
    assert _record(holder)[0]["grant_id"] is None

    listed = holder.get("/api/v1/me/grants").json()
    assert [(g["id"], g["uses"]) for g in listed] == [(grant["id"], 1)]


def test_a_grant_admits_only_its_purpose_client_and_holder(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    grant = _grant(holder, clock, identifier).json()["id"]
    other = _key(api, "verifier-2", purposes=PURPOSES)

    refusals = [
        _lookup(api, grant=grant, purpose=PURPOSES[1]),
        _lookup(api, other, grant=grant),
        _lookup(api, grant=grant, holder_id=OTHER_CITIZEN),
        _lookup(api, grant="0123456789abcdef"),
    ]
    for refused in refusals:
        assert refused.status_code == 403, refused.text
        assert refused.json()["code"] == "grant-refused"
    # A purpose the client may not state is refused before the grant is asked.
    assert _lookup(api, grant=grant, purpose="随便看看").json()["code"] == "purpose-refused"
    attempts = _record(holder, "refused")
    named = [e for e in attempts if e["grant_id"] == grant]
    assert {e["refusal"] for e in named} == {"grant-refused", "purpose-refused"}
    # The other holder's attempt is in their record, the unknown grant names another id.
    assert sum(e["count"] for e in named) == 3


def test_a_withdrawn_or_ended_grant_admits_nothing(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    first = _grant(holder, clock, identifier).json()["id"]
    second = _grant(holder, clock, identifier, valid_until=_later(clock, hours=1)).json()["id"]

    withdrawn = holder.delete(f"/api/v1/me/grants/{first}")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert holder.delete(f"/api/v1/me/grants/{first}").status_code == 409
    assert _lookup(api, grant=first).status_code == 403
    assert _lookup(api, grant=second).status_code == 200

    clock.advance(timedelta(hours=1))
    assert _lookup(api, grant=second).status_code == 403
    holder = api.holder()  # the session has ended meanwhile
    statuses = {g["id"]: g["status"] for g in holder.get("/api/v1/me/grants").json()}
    assert statuses == {first: "withdrawn", second: "ended"}
    assert holder.delete(f"/api/v1/me/grants/{second}").status_code == 409


def test_a_scheduled_grant_admits_from_its_start(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    made = _grant(
        holder,
        clock,
        identifier,
        valid_from=_later(clock, days=1),
        valid_until=_later(clock, days=2),
    ).json()
    assert made["status"] == "scheduled"
    assert _lookup(api, grant=made["id"]).status_code == 403
    clock.advance(timedelta(days=1))
    assert _lookup(api, grant=made["id"]).status_code == 200


def test_a_department_grant_admits_that_departments_verifiers(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    theirs = _key(api, "dept-b-desk", department_code=DEPARTMENT_B, purposes=PURPOSES)
    made = _grant(
        holder, clock, identifier, grantee_kind="department", department_code=DEPARTMENT_B
    )
    assert made.status_code == 201, made.text
    grant = made.json()["id"]
    assert _lookup(api, theirs, grant=grant).status_code == 200
    assert _lookup(api, grant=grant).status_code == 403  # "verifier" belongs to no department


def test_an_agent_grant_admits_a_lookup_stating_the_agents_id(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    made = _grant(
        holder,
        clock,
        identifier,
        grantee_kind="agent",
        agent_id_number=AGENT_ID,
        agent_name="李四",
        client=None,
    )
    assert made.status_code == 201, made.text
    grant = made.json()
    assert grant["grantee"] == "李四 110101********1233"
    assert _lookup(api, grant=grant["id"]).json()["code"] == "grant-refused"
    assert _lookup(api, grant=grant["id"], agent_id=OTHER_CITIZEN).status_code == 403
    assert _lookup(api, grant=grant["id"], agent_id=AGENT_ID).status_code == 200
    # The agent, signed in as themselves, sees the grant naming them, and no more of the holder.
    page = api.holder(AGENT_ID).get("/me/grants").text
    mine = page[page.index(f'id="to-me-{grant["id"]}"') :]
    assert "不动产权证书 · 王**" in mine and PURPOSES[0] in mine and "生效中" in mine
    assert CITIZEN_ID not in page
    assert 'id="grants-to-me"' not in holder.get("/me/grants").text  # the holder is no agent


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"purpose": "随便看看"}, 422),  # not in the catalogue
        ({"client": "nobody"}, 422),
        ({"purpose": "核查"}, 422),  # in the catalogue, but the client may not state it
        ({"valid_until": "2020-01-01T00:00:00+00:00"}, 422),
        ({"valid_until": "2030-01-01T00:00:00"}, 422),  # no time zone
        ({"grantee_kind": "agent", "agent_id_number": CITIZEN_ID, "agent_name": "王小红"}, 422),
        ({"grantee_kind": "agent", "agent_id_number": "123", "agent_name": "李四"}, 422),
        ({"grantee_kind": "department", "department_code": "nope"}, 422),
        ({"grantee_kind": "someone"}, 422),
        ({"extra": 1}, 422),
    ],
)
def test_grants_nobody_could_use_are_refused(
    api: Api, clock: FixedClock, fields: dict[str, Any], status: int
) -> None:
    identifier = api.issue()
    holder = api.holder()
    answer = _grant(holder, clock, identifier, **fields)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert holder.get("/api/v1/me/grants").json() == []


def test_a_grant_lasts_at_most_366_days(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    assert _grant(holder, clock, identifier, valid_until=_later(clock, days=367)).status_code == 422
    assert _grant(holder, clock, identifier, valid_until=_later(clock, days=366)).status_code == 201


def test_only_the_holder_grants_and_withdraws(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    grant = _grant(api.holder(), clock, identifier).json()["id"]
    stranger = api.holder(OTHER_CITIZEN)
    assert _grant(stranger, clock, identifier).status_code == 404
    assert stranger.get("/api/v1/me/grants").json() == []
    assert stranger.delete(f"/api/v1/me/grants/{grant}").status_code == 404
    nobody = TestClient(api.http.app, base_url=str(api.http.base_url))
    assert nobody.get("/api/v1/me/grants").status_code == 401
    assert nobody.delete(f"/api/v1/me/grants/{grant}").status_code == 401
    assert api.http.get("/api/v1/me/grants", headers=api.as_("verifier")).status_code == 401
    assert _lookup(api, grant=grant).status_code == 200  # still the holder's, still current


def test_a_license_that_is_not_current_cannot_be_granted(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    api.licenses.transition(identifier, Action.SUSPEND, "clerk", "核查中")
    answer = _grant(holder, clock, identifier)
    assert answer.status_code == 409, answer.text


# ---- the wallet's own forms ---------------------------------------------------------------

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def test_the_page_keeps_only_a_well_formed_code_the_script_made(
    api: Api, clock: FixedClock
) -> None:
    identifier = api.issue()
    holder = api.holder()
    code = holder.post(f"/api/v1/me/licenses/{identifier}/presentations", json={}).json()
    token = csrf_token_of(holder)

    def shown(**fields: str) -> Any:
        body = {"token": code["token"], "expires_at": code["expires_at"], **fields}
        form = "&".join(f"{k}={quote(v)}" for k, v in {**body, "csrf_token": token}.items())
        return holder.post("/me/shown", content=form, headers=_FORM)

    for bad in (
        {"token": "not a token!"},
        {"expires_at": "tomorrow"},
        {"expires_at": (clock.now() - timedelta(seconds=1)).isoformat()},
        {"expires_at": (clock.now() + timedelta(days=2)).isoformat()},
        {"expires_at": "2030-01-01T00:00:00"},  # no time zone
    ):
        assert shown(**bad).status_code == 422, bad
    kept = shown(identifier=identifier)
    assert kept.status_code == 200, kept.text
    assert kept.json()["link"].endswith(f"/v/{code['token']}")
    assert kept.json()["svg"].startswith("<svg viewBox=")
    page = holder.get("/me").text
    assert f'id="presentation-link" href="{kept.json()["link"]}"' in page
    forged = holder.post(
        "/me/shown", content=f"token={code['token']}&csrf_token=made-up", headers=_FORM
    )
    assert forged.status_code == 403


def test_grants_made_and_withdrawn_from_the_page(api: Api, clock: FixedClock) -> None:
    identifier = api.issue()
    holder = api.holder()
    until = (api.licenses.today() + timedelta(days=2)).isoformat()
    form = {
        "identifier": identifier,
        "grantee_kind": "client",
        "client": "verifier",
        "purpose": PURPOSES[0],
        "valid_until": until,
        "csrf_token": csrf_token_of(holder),
    }
    body = "&".join(f"{k}={quote(v)}" for k, v in form.items())
    made = holder.post("/me/grants", content=body, headers=_FORM, follow_redirects=False)
    assert made.status_code == 303, made.text
    [grant] = holder.get("/api/v1/me/grants").json()
    assert made.headers["location"] == f"/me/grants?done=granted#grant-{grant['id']}"
    # "Until" a day admits lookups to the end of that day, in the service's zone.
    zone = api.services.settings.zone
    end = datetime.fromisoformat(grant["valid_until"]).astimezone(zone)
    assert (end.date().isoformat(), end.hour, end.minute) == (until, 23, 59)
    assert _lookup(api, grant=grant["id"]).status_code == 200

    refused = holder.post(
        "/me/grants",
        content=body.replace(f"valid_until={until}", "valid_until=2026-13-40"),
        headers=_FORM,
    )
    assert refused.status_code == 422 and "未能授权：截止日期须在今天之后" in refused.text
    assert 'id="valid_until" aria-invalid="true"' in refused.text

    token = quote(form["csrf_token"])
    out = holder.post(
        f"/me/grants/{grant['id']}/withdraw",
        content=f"csrf_token={token}",
        headers=_FORM,
        follow_redirects=False,
    )
    assert out.status_code == 303
    again = holder.post(
        f"/me/grants/{grant['id']}/withdraw", content=f"csrf_token={token}", headers=_FORM
    )
    assert again.status_code == 409 and "未能撤回" in again.text
    assert _lookup(api, grant=grant["id"]).status_code == 403


def test_grants_made_and_withdrawn_are_entries_of_the_log(api: Api, clock: FixedClock) -> None:
    """Each grant and withdrawal is one entry, in its transaction; an agent is named by the
    keyed digest of their ID only, and the ledger still checks whole."""
    identifier = api.issue()
    holder = api.holder()
    to_client = _grant(holder, clock, identifier).json()["id"]
    to_agent = _grant(
        holder,
        clock,
        identifier,
        grantee_kind="agent",
        agent_id_number=AGENT_ID,
        agent_name="李四",
        client=None,
    ).json()["id"]
    assert holder.delete(f"/api/v1/me/grants/{to_client}").status_code == 200
    with api.services.database.begin() as session:
        bodies = session.scalars(select(LogEntry.body).order_by(LogEntry.idx)).all()
    noted = [
        entry
        for entry in map(decode_entry, bodies)
        if entry["kind"] == EventKind.HOLDER_AUTHORISATION.value
    ]
    assert [(e["details"]["grant"], e["details"]["action"]) for e in noted] == [
        (to_client, "grant"),
        (to_agent, "grant"),
        (to_client, "withdraw"),
    ]
    assert all(e["license"] == identifier for e in noted)
    raw = b"".join(bodies)
    assert "李四".encode() not in raw and AGENT_ID.encode() not in raw
    assert noted[1]["details"]["grantee_kind"] == "agent"
    assert len(noted[1]["details"]["grantee"]) == 64  # the keyed digest
    report = verify_ledger(
        api.services.database, LedgerKeys(build_log_key(api.services.settings).verifier)
    )
    assert report.ok, report
