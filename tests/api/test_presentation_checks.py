"""Who may check a presentation code (亮证), through the API, the public page and /me."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.api.conftest import PURPOSES, Api, csrf_token_of
from tests.helpers import shown_text
from trustsvc.db.models import Presentation
from trustsvc.sharing.clients import add_client

_FORM = {"Content-Type": "application/x-www-form-urlencoded"}
_LINK = re.compile(r'id="presentation-link" href="[^"]*/v/([^"]+)"')


def _used(api: Api) -> list[bool]:
    with api.services.database.begin() as session:
        return [p.used_at is not None for p in session.scalars(select(Presentation))]


def _other_verifier(api: Api) -> dict[str, str]:
    _info, key = add_client(api.services, "某商业银行", "verifier", purposes=PURPOSES)
    return {"Authorization": f"Bearer {key.secret}"}


def _code(api: Api, **body: object) -> str:
    identifier = api.issue()
    made = api.holder().post(f"/api/v1/me/licenses/{identifier}/presentations", json=body)
    assert made.status_code == 201, made.text
    token: str = made.json()["token"]
    return token


def test_a_code_for_one_verifier_is_refused_to_another_and_stays_unused(api: Api) -> None:
    other = _other_verifier(api)
    token = _code(api, single_use=True, intended_verifier="verifier")
    refused = api.http.get(
        f"/api/v1/verify/token/{token}", params={"purpose": PURPOSES[0]}, headers=other
    )
    assert refused.status_code == 200
    body = refused.json()
    assert body["verdict"] == "presentation_refused"
    assert [r["code"] for r in body["reasons"]] == ["presentation_for_another_verifier"]
    assert body["facts"]["holder_name_masked"] is None
    assert _used(api) == [False]
    right = api.http.get(
        f"/api/v1/verify/token/{token}",
        params={"purpose": PURPOSES[1]},
        headers=api.as_("verifier"),
    )
    assert right.json()["verdict"] == "valid" and _used(api) == [True]
    holder = api.holder()
    [use] = holder.get("/api/v1/me/access-record").json()["entries"]
    assert (use["actor"], use["action"], use["purpose"]) == (
        "verifier",
        "presentation_check",
        PURPOSES[1],
    )
    [attempt] = holder.get("/api/v1/me/access-record?section=refused").json()["entries"]
    assert (attempt["actor"], attempt["refusal"], attempt["purpose"]) == (
        "某商业银行",
        "presentation_for_another_verifier",
        PURPOSES[0],
    )


def test_a_code_for_a_purpose_is_refused_to_a_verifier_stating_another(api: Api) -> None:
    token = _code(api, single_use=True, purpose=PURPOSES[0])
    verifier = api.as_("verifier")
    wrong = api.http.get(
        f"/api/v1/verify/token/{token}", params={"purpose": PURPOSES[1]}, headers=verifier
    )
    assert [r["code"] for r in wrong.json()["reasons"]] == ["presentation_purpose_mismatch"]
    assert _used(api) == [False]
    not_given = api.http.get(
        f"/api/v1/verify/token/{token}", params={"purpose": "随便看看"}, headers=verifier
    )
    assert not_given.status_code == 403 and not_given.json()["code"] == "purpose-refused"
    right = api.http.get(
        f"/api/v1/verify/token/{token}", params={"purpose": PURPOSES[0]}, headers=verifier
    )
    assert right.json()["verdict"] == "valid" and _used(api) == [True]


def test_an_anonymous_open_of_a_code_for_a_verifier_shows_where_to_go_and_uses_nothing(
    api: Api,
) -> None:
    identifier = api.issue()
    made = api.holder().post(
        f"/api/v1/me/licenses/{identifier}/presentations",
        json={"single_use": True, "intended_verifier": "verifier"},
    )
    page = api.http.get(f"/v/{made.json()['token']}")
    assert page.status_code == 200
    assert 'data-verdict="elsewhere"' in page.text and "仅供「verifier」核验" in page.text
    # Nothing of the license.
    assert "王" not in page.text and identifier not in shown_text(page.text)
    assert _used(api) == [False]
    for _ in range(2):  # opening it again changes nothing either
        api.http.get(f"/v/{made.json()['token']}")
    assert _used(api) == [False]


def test_an_anonymous_open_of_a_bearer_code_uses_it_up(api: Api) -> None:
    token = _code(api, single_use=True)
    assert 'data-verdict="valid"' in api.http.get(f"/v/{token}").text
    assert _used(api) == [True]
    assert 'data-verdict="presentation_used"' in api.http.get(f"/v/{token}").text


def test_the_holder_names_a_verifier_from_a_real_list(api: Api) -> None:
    _other_verifier(api)
    holder = api.holder()
    listed = holder.get("/api/v1/me/verifiers").json()
    assert [(v["name"], v["purposes"]) for v in listed] == [
        ("verifier", list(PURPOSES)),
        ("某商业银行", list(PURPOSES)),
    ]
    identifier = api.issue()
    unknown = holder.post(
        f"/api/v1/me/licenses/{identifier}/presentations",
        json={"intended_verifier": "issuer_a"},  # a client, but no verifier
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid-input"
    page = holder.get("/me").text
    assert '<option value="某商业银行">' in page and '<option value="">' in page
    holder.post(
        "/me/present",
        content=f"identifier={identifier}&verifier=%E6%9F%90%E5%95%86%E4%B8%9A%E9%93%B6%E8%A1%8C"
        f"&csrf_token={csrf_token_of(holder)}",
        headers=_FORM,
    )
    shown = _LINK.search(holder.get("/me").text)
    assert shown is not None
    refused = api.http.get(f"/api/v1/verify/token/{shown.group(1)}", headers=api.as_("verifier"))
    assert [r["code"] for r in refused.json()["reasons"]] == ["presentation_for_another_verifier"]
    with api.services.database.begin() as session:
        [row] = session.scalars(select(Presentation)).all()
        assert row.intended_verifier == "某商业银行" and row.single_use
