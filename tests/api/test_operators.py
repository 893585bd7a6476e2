"""Operator actions over HTTP: recorded with the admin client and its address; an admin
key cannot mint or take over another admin."""

from __future__ import annotations

from tests.api.conftest import Api
from tests.helpers import add_purposes
from trustsvc.api.errors import PROBLEM_JSON
from trustsvc.sharing.clients import add_client, get_client
from trustsvc.staff.users import StaffRole, add_user, list_users


def test_an_admin_key_cannot_make_an_admin_client(api: Api) -> None:
    answer = api.http.post(
        "/api/v1/clients", json={"name": "第二运维", "role": "admin"}, headers=api.as_("admin")
    )
    assert answer.status_code == 403
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert answer.json()["code"] == "command-line-only"
    assert api.http.get("/api/v1/clients/第二运维", headers=api.as_("admin")).status_code == 404


def test_an_admin_key_rotates_only_itself_among_admins(api: Api) -> None:
    add_client(api.services, "另一运维", "admin")
    other = api.http.post(
        "/api/v1/clients/另一运维/rotate", json={"grace_seconds": 0}, headers=api.as_("admin")
    )
    assert other.status_code == 403
    assert other.json()["code"] == "command-line-only"
    own = api.http.post(
        "/api/v1/clients/admin/rotate", json={"grace_seconds": 60}, headers=api.as_("admin")
    )
    assert own.status_code == 200, own.text


def test_changes_over_http_are_in_the_operator_record(api: Api) -> None:
    made = api.http.post(
        "/api/v1/clients",
        json={"name": "某银行", "role": "verifier", "purposes": ["贷款审查"]},
        headers=api.as_("admin"),
    )
    assert made.status_code == 201, made.text
    assert (
        api.http.post("/api/v1/clients/某银行/revoke", headers=api.as_("admin")).status_code == 200
    )

    page = api.http.get("/api/v1/operator-events?limit=2", headers=api.as_("admin"))
    assert page.status_code == 200, page.text
    body = page.json()
    assert [e["action"] for e in body["items"]] == ["client_revoke", "client_add"]
    assert {e["actor"] for e in body["items"]} == {"admin"}
    assert {e["origin"] for e in body["items"]} == {"http:testclient"}
    assert body["items"][1]["target"] == "某银行"
    assert body["items"][1]["details"]["purposes"] == ["贷款审查"]
    # The fixture's own clients were made before, at the command line; the next page has them.
    rest = api.http.get(
        f"/api/v1/operator-events?before={body['next_before']}&action=client_add",
        headers=api.as_("admin"),
    ).json()
    assert [e["target"] for e in rest["items"]] == ["admin", "verifier", "issuer_b", "issuer_a"]
    assert all(e["origin"].startswith("cli@") for e in rest["items"])
    assert rest["next_before"] is None


def test_an_unknown_action_filter_is_a_clear_422(api: Api) -> None:
    answer = api.http.get("/api/v1/operator-events?action=nope", headers=api.as_("admin"))
    assert answer.status_code == 422
    assert "client_add" in answer.json()["title"]


def test_an_admin_key_cannot_hand_itself_a_staff_members_client(api: Api) -> None:
    """A clerk's client has no key and works only behind the pages: rotating it over the
    API would mint one, and revoking it would leave the user half-disabled."""
    add_purposes(api.services, "查验婚姻状况")
    add_user(
        api.services,
        "clerk-1",
        "张窗口",
        StaffRole.CLERK,
        window="3号窗口",
        purposes=["查验婚姻状况"],
    )
    for action, body in (("rotate", {"grace_seconds": 0}), ("revoke", None)):
        answer = api.http.post(
            f"/api/v1/clients/staff:clerk-1/{action}", json=body, headers=api.as_("admin")
        )
        assert answer.status_code == 403, answer.text
        assert answer.headers["content-type"] == PROBLEM_JSON
    [member] = list_users(api.services)
    assert member.client is not None and member.active
    assert get_client(api.services, "staff:clerk-1").active_keys == ()
