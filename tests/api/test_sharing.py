"""Cross-department lookup and the holder's access record (全程留痕)."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import CITIZEN_ID, PURPOSES, Api
from trustsvc.licenses.library import Action


def _lookup(api: Api, **params: Any) -> Any:
    return api.http.get(
        "/api/v1/lookup",
        params={"holder_id": CITIZEN_ID, "type": "real-estate-certificate", **params},
        headers=api.as_("verifier"),
    )


def test_a_lookup_answers_with_minimal_facts_for_an_allowed_purpose(api: Api) -> None:
    identifier = api.issue()
    answer = _lookup(api, purpose=PURPOSES[0])
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["holds"] is True
    [shared] = body["licenses"]
    assert shared["identifier"] == identifier and shared["status"] == "valid"
    assert shared["holder_name_masked"] == "王**"
    assert CITIZEN_ID not in answer.text and "王小红" not in answer.text
    none = _lookup(api, purpose=PURPOSES[0], type="business-license")
    assert none.json() == {"holds": False, "licenses": []}


def test_a_revoked_license_is_not_held(api: Api) -> None:
    identifier = api.issue()
    api.licenses.transition(identifier, Action.REVOKE, "clerk", "吊销")
    assert _lookup(api, purpose=PURPOSES[0]).json()["holds"] is False


def test_a_lookup_without_an_allowed_purpose_is_refused_and_recorded(api: Api) -> None:
    api.issue()
    missing = _lookup(api)
    assert missing.status_code == 403 and missing.json()["code"] == "purpose-refused"
    foreign = _lookup(api, purpose="随便看看")
    assert foreign.status_code == 403 and foreign.json()["code"] == "purpose-refused"
    events = api.http.get("/api/v1/access-events", headers=api.as_("admin")).json()
    refused = [e for e in events if e["outcome"] == "refused"]
    assert [(e["action"], e["purpose"], e["refusal"]) for e in refused] == [
        ("lookup", "随便看看", "purpose-refused"),
        ("lookup", None, "purpose-refused"),
    ]
    assert all(e["actor"] == "verifier" and e["licenses"] == [] for e in refused)
    # The holder sees the attempts too, apart from the uses.
    holder = api.holder()
    assert holder.get("/api/v1/me/access-record").json()["entries"] == []
    record = holder.get("/api/v1/me/access-record", params={"section": "refused"}).json()
    assert sorted(e["outcome"] for e in record["entries"]) == ["refused", "refused"]


def test_a_bad_holder_id_is_refused_recorded_and_never_echoed(api: Api) -> None:
    answer = _lookup(api, holder_id="330106198503120045", purpose=PURPOSES[0])
    assert answer.status_code == 422 and "330106198503120045" not in answer.text
    [event] = api.http.get("/api/v1/access-events", headers=api.as_("admin")).json()
    assert event["outcome"] == "refused" and event["refusal"] == "invalid-input"


def test_the_holder_sees_every_lookup_and_verification_made_through_the_api(api: Api) -> None:
    identifier = api.issue()
    other = api.issue("business-license")  # someone else's license
    verifier = api.as_("verifier")
    assert _lookup(api, purpose=PURPOSES[0]).status_code == 200
    holdings = api.http.get(
        "/api/v1/holders/licenses",
        params={"holder_id": CITIZEN_ID, "holder_id_type": "111", "purpose": PURPOSES[1]},
        headers=verifier,
    )
    assert holdings.status_code == 200 and len(holdings.json()["licenses"]) == 1
    pdf = api.licenses.document(identifier)
    verified = api.http.post(
        "/api/v1/verify",
        content=pdf,
        params={"purpose": PURPOSES[0]},
        headers={**verifier, "Content-Type": "application/pdf"},
    )
    assert verified.status_code == 200 and verified.json()["verdict"] == "valid"
    from tests.licenses.pdf_checks import read_qr_codes

    [link] = read_qr_codes(pdf)
    token = link.rsplit("/", 1)[1]
    by_token = api.http.get(f"/api/v1/verify/token/{token}", headers=verifier)
    assert by_token.json()["verdict"] == "valid"
    holder = api.holder()
    code = holder.post(
        f"/api/v1/me/licenses/{identifier}/presentations",
        json={"single_use": True, "purpose": PURPOSES[1]},
    )
    assert code.status_code == 201, code.text
    checked = api.http.get(
        f"/api/v1/verify/token/{code.json()['token']}",
        params={"purpose": PURPOSES[1]},
        headers=verifier,
    )
    assert checked.json()["verdict"] == "valid"
    # Verifying someone else's license does not land in this holder's record.
    other_pdf = api.licenses.document(other)
    api.http.post(
        "/api/v1/verify", content=other_pdf, headers={**verifier, "Content-Type": "application/pdf"}
    )
    record = holder.get("/api/v1/me/access-record").json()["entries"]
    seen = sorted((e["action"], e["purpose"] or "") for e in record)
    assert seen == sorted(
        [
            ("lookup", PURPOSES[0]),
            ("holdings", PURPOSES[1]),
            ("verify_pdf", PURPOSES[0]),
            ("verify_token", ""),
            ("presentation_check", PURPOSES[1]),
        ]
    )
    assert all(e["actor"] == "verifier" for e in record)
    assert {tuple(e["licenses"]) for e in record} == {(identifier,)}


def test_a_verifier_may_not_state_a_purpose_it_was_not_given(api: Api) -> None:
    token = "x" * 40
    answer = api.http.get(
        f"/api/v1/verify/token/{token}", params={"purpose": "随便看看"}, headers=api.as_("verifier")
    )
    assert answer.status_code == 403 and answer.json()["code"] == "purpose-refused"


def test_control_characters_in_what_a_caller_states_are_recorded_not_crashed_on(api: Api) -> None:
    answer = _lookup(api, purpose="办理\x1b抵押", type="real-estate\x07")
    assert answer.status_code == 403, answer.text
    [event] = api.http.get("/api/v1/access-events", headers=api.as_("admin")).json()
    assert event["purpose"] == "办理\ufffd抵押" and event["outcome"] == "refused"
