"""The holder's access record cannot be flooded: sections, pages, collapsed refusals, a budget."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.api.conftest import CITIZEN_ID, PURPOSES, Api
from trustsvc.audit.access_reading import Section, access_page
from trustsvc.audit.access_record import Access, AccessAction, AccessWriter, Outcome
from trustsvc.clock import FixedClock
from trustsvc.db.models import VerificationEvent
from trustsvc.licenses import library
from trustsvc.sharing.clients import Client, add_client, get_client
from trustsvc.sharing.refusals import RefusalBudget


def _digest(api: Api) -> str:
    return api.licenses.data_key.digest("111", CITIZEN_ID)


def _client(api: Api, name: str = "verifier") -> Client:
    return get_client(api.services, name).client


def _refused(api: Api, at: datetime, n: int, purpose: str = "随便看看", **kw: Any) -> None:
    client = kw.pop("client", None) or _client(api)
    rows = [
        (
            at + i * kw.get("step", timedelta(seconds=1)),
            client,
            Access(
                AccessAction.LOOKUP,
                Outcome.REFUSED,
                purpose=purpose,
                refusal=kw.get("refusal", "purpose-refused"),
                holder_id_digest=_digest(api),
            ),
        )
        for i in range(n)
    ]
    AccessWriter(api.services.database.engine).write(rows)


def _lookup(api: Api, purpose: str | None = PURPOSES[0]) -> Any:
    params = {"holder_id": CITIZEN_ID, "type": "real-estate-certificate"}
    if purpose is not None:
        params["purpose"] = purpose
    return api.http.get("/api/v1/lookup", params=params, headers=api.as_("verifier"))


def test_510_refused_lookups_do_not_push_the_real_one_out_of_view(
    api: Api, clock: FixedClock
) -> None:
    api.issue()
    assert _lookup(api).status_code == 200
    clock.advance(timedelta(seconds=1))
    _refused(api, clock.now(), 510)
    holder = api.holder()
    uses = holder.get("/api/v1/me/access-record").json()
    assert uses["section"] == "uses" and uses["next_cursor"] is None
    [use] = uses["entries"]
    assert (use["action"], use["purpose"], use["outcome"]) == ("lookup", PURPOSES[0], "answered")
    refused = holder.get("/api/v1/me/access-record", params={"section": "refused"}).json()
    [line] = refused["entries"]
    assert (line["actor"], line["refusal"], line["count"]) == ("verifier", "purpose-refused", 510)
    assert datetime.fromisoformat(line["at"]) - datetime.fromisoformat(
        line["first_at"]
    ) == timedelta(seconds=509)
    page = holder.get("/me").text
    uses_table = page[page.index('id="access-record"') : page.index('id="refused-attempts"')]
    assert PURPOSES[0] in uses_table and "随便看看" not in uses_table
    assert "共 510 次" in page[page.index('id="refused-attempts"') :]
    # Each row names its entry in the transparency log, on the page as in the answer.
    assert isinstance(use["log_index"], int)
    assert f">{use['log_index']}</dd>" in uses_table and "存证序号" in uses_table


def _all_pages(holder: Any, section: str, limit: int, between: Any = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] = {"section": section, "limit": limit}
    for _ in range(100):
        page = holder.get("/api/v1/me/access-record", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        assert len(body["entries"]) <= limit
        seen.extend(body["entries"])
        if body["next_cursor"] is None:
            return seen
        if between is not None:
            between()
        params = {"cursor": body["next_cursor"], "limit": limit}
    raise AssertionError("the pages never end")


def test_pages_give_every_use_exactly_once_while_new_ones_arrive(
    api: Api, clock: FixedClock
) -> None:
    identifier = api.issue()
    with api.services.database.begin() as session:
        license_id = library.find(session, identifier).id
    writer = AccessWriter(api.services.database.engine)
    client = _client(api)
    start = clock.now()
    expected = []
    for i in range(45):
        # Several rows share an instant, and checks share instants with lookups.
        at = start + timedelta(seconds=i // 3)
        if i % 4 == 0:
            with api.services.database.begin() as session:
                session.add(
                    VerificationEvent(
                        license_id=license_id,
                        checked_at=at,
                        checked_by="窗口",
                        purpose=f"p{i}",
                        verdict="valid",
                    )
                )
        else:
            writer.write(
                [
                    (
                        at,
                        client,
                        Access(
                            AccessAction.LOOKUP,
                            Outcome.ANSWERED,
                            purpose=f"p{i}",
                            holder_id_digest=_digest(api),
                        ),
                    )
                ]
            )
        expected.append(f"p{i}")
    _refused(api, start, 3)  # refusals are not uses
    later = iter(range(1000))

    def newer_rows() -> None:
        clock.advance(timedelta(minutes=1))
        n = next(later)
        writer.write(
            [
                (
                    clock.now(),
                    client,
                    Access(
                        AccessAction.LOOKUP,
                        Outcome.ANSWERED,
                        purpose=f"new{n}",
                        holder_id_digest=_digest(api),
                    ),
                )
            ]
        )

    seen = _all_pages(api.holder(), "uses", 7, between=newer_rows)
    purposes = [e["purpose"] for e in seen]
    assert sorted(purposes) == sorted(expected) and len(purposes) == len(set(purposes))
    times = [datetime.fromisoformat(e["at"]) for e in seen]
    assert times == sorted(times, reverse=True)
    # A fresh first page shows what arrived meanwhile, newest first.
    first = api.holder().get("/api/v1/me/access-record", params={"limit": 2}).json()
    assert [e["purpose"] for e in first["entries"]] == ["new5", "new4"]


def test_pages_of_refusals_give_every_attempt_once(api: Api, clock: FixedClock) -> None:
    start = clock.now()
    for i in range(12):  # a different purpose each: twelve lines
        _refused(api, start + timedelta(seconds=i), 1 + i % 3, purpose=f"r{i}")
    seen = _all_pages(api.holder(), "refused", 5)
    assert [e["purpose"] for e in seen] == [f"r{i}" for i in reversed(range(12))]
    assert sum(e["count"] for e in seen) == sum(1 + i % 3 for i in range(12))


def test_repeated_refusals_are_one_line_per_client_reason_and_window(
    api: Api, clock: FixedClock
) -> None:
    add_client(api.services, "某商业银行", "verifier", purposes=PURPOSES)
    bank = _client(api, "某商业银行")
    t = clock.now()
    # Written in the order of time, as the access log writes them.
    _refused(api, t, 1)
    _refused(api, t + timedelta(seconds=30), 2, client=bank)  # interleaved: its own line
    _refused(api, t + timedelta(minutes=2), 2, step=timedelta(minutes=2))  # .. t+4m
    _refused(api, t + timedelta(minutes=30), 2)  # 26 minutes later: a new line
    _refused(api, t + timedelta(minutes=31), 1, refusal="invalid-input")  # another reason
    page = access_page(api.services, _digest(api), Section.REFUSED)
    lines = [(e.actor, e.refusal, e.count, e.first_at, e.at) for e in page.entries]
    assert lines == [
        ("verifier", "invalid-input", 1, None, t + timedelta(minutes=31)),
        (
            "verifier",
            "purpose-refused",
            2,
            t + timedelta(minutes=30),
            t + timedelta(minutes=30, seconds=1),
        ),
        ("verifier", "purpose-refused", 3, t, t + timedelta(minutes=4)),
        ("某商业银行", "purpose-refused", 2, t + timedelta(seconds=30), t + timedelta(seconds=31)),
    ]
    assert page.next_cursor is None


def test_refusals_beyond_the_budget_are_429_and_recorded_once(api: Api) -> None:
    now = [0.0]
    api.http.app.state.api.refusals = RefusalBudget(3, monotonic=lambda: now[0])  # type: ignore[attr-defined]
    api.issue()
    assert [_lookup(api, "随便看看").status_code for _ in range(3)] == [403] * 3
    over = [_lookup(api, "随便看看") for _ in range(5)]
    assert {r.status_code for r in over} == {429}
    assert over[0].json()["code"] == "rate-limited" and int(over[0].headers["retry-after"]) >= 1
    assert _lookup(api).status_code == 200  # an allowed lookup is still answered
    now[0] += 60
    assert _lookup(api, None).status_code == 403  # the budget is back
    holder = api.holder()
    refused = holder.get("/api/v1/me/access-record", params={"section": "refused"}).json()
    lines = [(e["refusal"], e["purpose"], e["count"]) for e in refused["entries"]]
    assert lines == [
        ("purpose-refused", None, 1),
        ("refusal-limit-reached", "随便看看", 1),
        ("purpose-refused", "随便看看", 3),
    ]
    uses = holder.get("/api/v1/me/access-record").json()["entries"]
    assert [e["purpose"] for e in uses] == [PURPOSES[0]]


def test_a_refused_presentation_check_spends_the_same_budget(api: Api) -> None:
    now = [0.0]
    api.http.app.state.api.refusals = RefusalBudget(2, monotonic=lambda: now[0])  # type: ignore[attr-defined]
    add_client(api.services, "某商业银行", "verifier", purposes=PURPOSES)
    identifier = api.issue()
    made = api.holder().post(
        f"/api/v1/me/licenses/{identifier}/presentations", json={"intended_verifier": "某商业银行"}
    )
    token = made.json()["token"]
    answers = [
        api.http.get(f"/api/v1/verify/token/{token}", headers=api.as_("verifier")).status_code
        for _ in range(4)
    ]
    assert answers == [200, 200, 429, 429]


def test_bad_cursors_and_page_sizes_are_422(api: Api, clock: FixedClock) -> None:
    _refused(api, clock.now(), 3, purpose="a")
    _refused(api, clock.now() + timedelta(seconds=5), 1, purpose="b")
    holder = api.holder()
    first = holder.get("/api/v1/me/access-record", params={"section": "refused", "limit": 1})
    cursor = first.json()["next_cursor"]
    assert cursor is not None
    for params in (
        {"cursor": "not a cursor"},
        {"cursor": "dXNlczo5OTk5OTk5OTk5OTk5OTk5OTk5Oi0"},  # an id out of range
        {"cursor": cursor, "section": "uses"},
        {"cursor": "A" * 200},
        {"limit": 0},
        {"limit": 201},
        {"section": "everything"},
    ):
        answer = holder.get("/api/v1/me/access-record", params=params)
        assert answer.status_code == 422, (params, answer.text)
    assert holder.get("/me", params={"refused": "garbage"}).status_code == 422
