"""Library rules: one current license per holder where the type says so, every printed
number accounted for, and a license's history found by identifier or number."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from tests.helpers import DEPARTMENT_A, credit_code, enterprise_holder
from trustsvc.bootstrap import build_licenses, open_runtime
from trustsvc.cli import cli
from trustsvc.clock import FixedClock
from trustsvc.departments.registry import add_department
from trustsvc.errors import (
    AmbiguousLicenseNumberError,
    DuplicateLicenseError,
    NotFoundError,
    TimestampError,
)
from trustsvc.licenses import numbers
from trustsvc.licenses.batch import run_batch
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest, IssueResult
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services

BUSINESS = "business-license"
REAL_ESTATE = "real-estate-certificate"
FOOD = "food-business-permit"


def _data(licenses: IssuingService, type_key: str = BUSINESS, **extra: object) -> dict[str, Any]:
    return {**example_data(get_type(licenses.types, type_key)), **extra}


def _issue(
    licenses: IssuingService, type_key: str = BUSINESS, key: str | None = None, **extra: object
) -> IssueResult:
    return licenses.issue(
        IssueRequest(DEPARTMENT_A, type_key, _data(licenses, type_key, **extra), key)
    )


def _ledger(licenses: IssuingService, type_key: str = BUSINESS) -> numbers.NumberAccount:
    license_type = get_type(licenses.types, type_key)
    year = licenses.today().year
    with licenses.database.begin() as session:
        return numbers.account(
            session, DEPARTMENT_A, type_key, license_type.number_scope_year(year), year
        )


# ---- item 13: duplicates ------------------------------------------------------------------


def test_shipped_types_say_whether_a_holder_may_hold_several(licenses: IssuingService) -> None:
    unique = {key for key, t in licenses.types.items() if t.unique_per_holder}
    assert unique == {BUSINESS, FOOD}


def test_a_second_current_license_for_one_holder_is_refused(licenses: IssuingService) -> None:
    first = _issue(licenses).license
    with pytest.raises(DuplicateLicenseError) as refused:
        _issue(licenses, holder_name="杭州示例科技有限公司（第二次）")
    assert refused.value.identifier == first.identifier
    assert refused.value.license_number == first.license_number
    assert first.license_number in refused.value.message and "变更" in refused.value.message
    # Another holder, and a type that allows many, are not held back.
    _issue(licenses, **enterprise_holder())
    _issue(licenses, REAL_ESTATE)
    _issue(licenses, REAL_ESTATE)


def test_suspended_still_holds_revoked_and_superseded_do_not(licenses: IssuingService) -> None:
    first = _issue(licenses).license
    licenses.transition(first.identifier, Action.SUSPEND, "clerk", "核查中")
    with pytest.raises(DuplicateLicenseError):
        _issue(licenses)
    licenses.transition(first.identifier, Action.RESUME, "clerk", None)
    # A change (变更) of the first replaces it: never refused as a duplicate.
    changed = licenses.change(
        first.identifier, {"domicile": "杭州市西湖区新址1号"}, "clerk", "迁址"
    )
    with pytest.raises(DuplicateLicenseError) as refused:
        _issue(licenses)
    assert refused.value.identifier == changed.license.identifier
    licenses.transition(changed.license.identifier, Action.REVOKE, "clerk", "注销：申请")
    assert _issue(licenses).created


def test_an_expired_license_no_longer_holds(licenses: IssuingService) -> None:
    holder = enterprise_holder()
    _issue(licenses, FOOD, **holder)
    with pytest.raises(DuplicateLicenseError):
        _issue(licenses, FOOD, **holder)
    # Valid for five years from six years ago: it has lapsed, so it holds nothing.
    lapsed_from = licenses.today().replace(year=licenses.today().year - 6, day=1)
    lapsed = _issue(licenses, FOOD, valid_from=lapsed_from.isoformat()).license
    assert lapsed.status == "expired"
    assert _issue(licenses, FOOD).created
    with pytest.raises(DuplicateLicenseError):
        _issue(licenses, FOOD)


def test_a_replay_returns_the_first_answer_not_a_duplicate(licenses: IssuingService) -> None:
    first = _issue(licenses, key="replay-0001")
    again = _issue(licenses, key="replay-0001")
    assert not again.created and again.license.identifier == first.license.identifier


def test_two_concurrent_issues_for_one_holder_one_wins(
    licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both pass the early check before either records: only the index can decide.
    both_sealing = threading.Barrier(2, timeout=30)
    produce = licenses.producer.produce

    def produce_together(*args: Any, **kwargs: Any) -> Any:
        both_sealing.wait()
        return produce(*args, **kwargs)

    monkeypatch.setattr(licenses.producer, "produce", produce_together)

    def attempt(index: int) -> object:
        try:
            return _issue(licenses, holder_name=f"杭州示例科技有限公司{index}")
        except DuplicateLicenseError as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(attempt, range(2)))
    won = [o for o in outcomes if isinstance(o, IssueResult)]
    lost = [o for o in outcomes if isinstance(o, DuplicateLicenseError)]
    assert len(won) == 1 and len(lost) == 1
    assert lost[0].identifier == won[0].license.identifier
    ledger = _ledger(licenses)
    assert (ledger.issued, ledger.void, ledger.missing) == (1, 1, ())
    [void] = [e for e in ledger.entries if e.state == "void"]
    assert void.void_reason is not None and "duplicate-license" in void.void_reason


def _write_rows(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    return path


def test_batch_rows_repeating_earlier_rows_are_duplicates(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    other = {**_data(licenses), **enterprise_holder()}
    rows = [
        _data(licenses),
        other,
        _data(licenses, holder_name="杭州示例科技有限公司（又一行）"),  # same holder as row 1
        other,  # the very same content as row 2
    ]
    report = tmp_path / "report.jsonl"
    summary = run_batch(
        open_runtime,
        services.settings,
        _write_rows(tmp_path / "rows.jsonl", rows),
        DEPARTMENT_A,
        BUSINESS,
        report,
        workers=1,
    )
    outcomes = [json.loads(line) for line in report.read_text("utf-8").splitlines()]
    by_row = {o["row"]: o for o in outcomes}
    assert [by_row[i]["status"] for i in (1, 2, 3, 4)] == [
        "issued",
        "issued",
        "duplicate",
        "duplicate",
    ]
    assert (by_row[3]["duplicate_of_row"], by_row[4]["duplicate_of_row"]) == (1, 2)
    assert (summary.issued, summary.duplicates) == (2, 2)
    # Run again: the issued rows replay, the repeats are still duplicates, and a holder
    # who already holds one is a duplicate of that license.
    again = run_batch(
        open_runtime,
        services.settings,
        _write_rows(tmp_path / "more.jsonl", [_data(licenses, holder_name="改名后的公司")]),
        DEPARTMENT_A,
        BUSINESS,
        tmp_path / "again.jsonl",
        workers=1,
    )
    [outcome] = [json.loads(x) for x in (tmp_path / "again.jsonl").read_text("utf-8").splitlines()]
    assert again.duplicates == 1 and outcome["status"] == "duplicate"
    assert outcome["identifier"] == by_row[1]["identifier"]


def test_same_content_rows_of_a_type_that_allows_many_are_duplicates(
    services: Services, licenses: IssuingService, tmp_path: Path
) -> None:
    row = _data(licenses, REAL_ESTATE)
    report = tmp_path / "report.jsonl"
    summary = run_batch(
        open_runtime,
        services.settings,
        _write_rows(tmp_path / "rows.jsonl", [row, row]),
        DEPARTMENT_A,
        REAL_ESTATE,
        report,
        workers=1,
    )
    assert (summary.issued, summary.duplicates) == (1, 1)


# ---- item 14: numbers without unexplained gaps ----------------------------------------------


def test_numbers_run_on_without_gaps_across_processes(
    services: Services, licenses: IssuingService
) -> None:
    # Two services stand for two CLI runs or workers: each used to take a block of 16.
    other = build_licenses(services)
    views = [
        (licenses if i % 2 else other)
        .issue(IssueRequest(DEPARTMENT_A, BUSINESS, {**_data(licenses), **enterprise_holder()}))
        .license
        for i in range(4)
    ]
    ledger = _ledger(licenses)
    assert [e.sequence for e in ledger.entries] == [1, 2, 3, 4]
    assert [e.number for e in ledger.entries] == [v.license_number for v in views]
    assert (ledger.first, ledger.last, ledger.issued, ledger.void, ledger.missing) == (
        1,
        4,
        4,
        0,
        (),
    )
    assert [e.identifier for e in ledger.entries] == [v.identifier for v in views]


def test_a_failed_issuance_voids_its_number_with_the_reason(
    licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    _issue(licenses, REAL_ESTATE)
    produce = licenses.producer.produce

    def no_timestamp(*args: Any, **kwargs: Any) -> Any:
        raise TimestampError("the TSA did not answer")

    monkeypatch.setattr(licenses.producer, "produce", no_timestamp)
    with pytest.raises(TimestampError):
        _issue(licenses, REAL_ESTATE)
    monkeypatch.setattr(licenses.producer, "produce", produce)
    third = _issue(licenses, REAL_ESTATE).license
    ledger = _ledger(licenses, REAL_ESTATE)
    assert [e.state for e in ledger.entries] == ["issued", "void", "issued"]
    assert ledger.entries[2].number == third.license_number
    reason = ledger.entries[1].void_reason
    assert reason is not None and "TSA did not answer" in reason
    assert ledger.missing == ()


def test_the_sweep_voids_reservations_a_crash_left(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    services = services
    with services.database.begin() as session:
        department_id = _department_id(services)
        reservation = numbers.reserve(
            session,
            department_id=department_id,
            type_key=BUSINESS,
            scope_year=licenses.today().year,
            year=licenses.today().year,
            number_of=str,
            actor="crashed",
            now=clock.now(),
        )
    grace = timedelta(minutes=60)
    assert numbers.void_abandoned(services.database, clock, grace) == 0
    assert _ledger(licenses).reserved == 1
    later = FixedClock(clock.now() + grace + timedelta(seconds=1))
    assert numbers.void_abandoned(services.database, later, grace) == 1
    [entry] = _ledger(licenses).entries
    assert entry.state == "void" and "abandoned" in (entry.void_reason or "")
    # An issuance that finishes after its number was voided does not record it.
    with services.database.begin() as session:
        assert not numbers.settle_issued(session, reservation, 1, clock.now())
    # The next number follows; the void one is accounted for.
    _issue(licenses)
    ledger = _ledger(licenses)
    assert [e.state for e in ledger.entries] == ["void", "issued"] and ledger.missing == ()


def _department_id(services: Services) -> int:
    from trustsvc.departments.seals import active_seal

    return active_seal(services, DEPARTMENT_A).department_id


def test_numbers_without_a_year_run_on_across_years(
    licenses: IssuingService, clock: FixedClock
) -> None:
    first = _issue(licenses, FOOD).license
    clock.advance(timedelta(days=366))
    second = _issue(licenses, FOOD, **enterprise_holder()).license
    assert first.license_number != second.license_number
    assert int(second.license_number[-7:]) == int(first.license_number[-7:]) + 1


# ---- item 15: history and lookup --------------------------------------------------------------


def test_history_shows_every_event_of_every_version(licenses: IssuingService) -> None:
    first = _issue(licenses).license
    licenses.transition(first.identifier, Action.SUSPEND, "clerk-1", "年报未报")
    licenses.transition(first.identifier, Action.RESUME, "clerk-2", "已补报")
    changed = licenses.change(first.license_number, {"domicile": "新址"}, "clerk-3", "迁址")
    licenses.transition(changed.license.identifier, Action.REVOKE, "clerk-4", "吊销：违法经营")
    history = licenses.history(first.license_number)
    assert history.identifier == changed.license.identifier
    assert [
        (e.version, e.action, e.actor, e.reason, e.from_status, e.to_status) for e in history.events
    ] == [
        (1, "issue", "operator", None, None, "valid"),
        (1, "suspend", "clerk-1", "年报未报", "valid", "suspended"),
        (1, "resume", "clerk-2", "已补报", "suspended", "valid"),
        (1, "change", "clerk-3", "迁址", "valid", "superseded"),
        (2, "change", "clerk-3", "迁址", None, "valid"),
        (2, "revoke", "clerk-4", "吊销：违法经营", "valid", "revoked"),
    ]
    assert all(e.at.tzinfo is not None and e.at.utcoffset() == timedelta(0) for e in history.events)


def test_a_license_is_found_by_its_number(licenses: IssuingService) -> None:
    first = _issue(licenses).license
    assert licenses.show(first.license_number).identifier == first.identifier
    changed = licenses.change(first.identifier, {"domicile": "新址"}, "clerk", "迁址").license
    # A number names every version; it finds the newest.
    assert licenses.show(first.license_number).identifier == changed.identifier
    assert licenses.document(first.license_number) == licenses.document(changed.identifier)
    with pytest.raises(NotFoundError):
        licenses.show("3301002099999999")


def test_a_number_two_departments_printed_is_ambiguous(
    services: Services, licenses: IssuingService
) -> None:
    twin = credit_code("11330100MB0000003")
    add_department(services, "杭州市余杭区市场监督管理局", twin, "330100")
    mine = _issue(licenses).license
    theirs = licenses.issue(
        IssueRequest(twin, BUSINESS, {**_data(licenses), **enterprise_holder()})
    ).license
    assert mine.license_number == theirs.license_number
    with pytest.raises(AmbiguousLicenseNumberError, match=re.escape(mine.identifier)):
        licenses.show(mine.license_number)
    assert licenses.show(mine.license_number, DEPARTMENT_A).identifier == mine.identifier
    assert licenses.show(mine.license_number, twin).identifier == theirs.identifier


# ---- the command line ------------------------------------------------------------------------


@pytest.fixture
def run_cli(services: Services, licenses: IssuingService) -> Iterator[Any]:
    settings = services.settings
    env = {
        "TRUSTSVC_HOME": str(settings.home),
        "TRUSTSVC_KEY_PASSPHRASE": settings.key_passphrase.get_secret_value(),
        "TRUSTSVC_PUBLIC_BASE_URL": settings.public_base_url,
        "TRUSTSVC_TIMEZONE": "Asia/Shanghai",
    }
    if settings.database_url:
        env["TRUSTSVC_DATABASE_URL"] = settings.database_url

    def run(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)

    yield run


def test_cli_history_and_numbers(
    services: Services, licenses: IssuingService, run_cli: Any, clock: FixedClock
) -> None:
    first = _issue(licenses).license
    licenses.transition(first.identifier, Action.SUSPEND, "clerk-1", "年报未报")
    shown = run_cli("license", "history", first.license_number)
    assert shown.exit_code == 0, shown.output
    local = first.issued_at.astimezone(services.settings.zone)
    assert local.strftime("%Y-%m-%d %H:%M:%S") in shown.output and "CST" in shown.output
    assert "valid -> suspended" in shown.output and "年报未报" in shown.output
    machine = json.loads(run_cli("license", "history", first.identifier, "--json").output)
    assert machine["events"][0]["at"] == first.issued_at.astimezone(UTC).isoformat()
    year = str(licenses.today().year)
    listed = run_cli(
        "license", "numbers", "--department", DEPARTMENT_A, "--type", BUSINESS, "--year", year
    )
    assert listed.exit_code == 0, listed.output
    assert first.license_number in listed.output
    assert listed.output.splitlines()[-1] == "first=1 last=1 issued=1 void=0 reserved=0 missing=0"
    unknown = run_cli("license", "show", "no-such-number")
    assert unknown.exit_code == 66
