"""Verdicts a clerk can act on (issue 11, items 1-6): one per situation, the right headline,
offline answers that say so, spent codes, licenses not yet in force, and what happened when."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import Engine, select
from sqlalchemy.exc import OperationalError

from tests.helpers import DEPARTMENT_A, enterprise_holder
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.bootstrap import build_verifier
from trustsvc.cli import EXIT_VALID_OFFLINE, cli
from trustsvc.clock import FixedClock
from trustsvc.db import Database
from trustsvc.db.models import LicenseEvent
from trustsvc.holders.presentation import present
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action, EffectiveStatus, RevocationKind
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.settings import Settings
from trustsvc.verification import reasons as R
from trustsvc.verification.report import (
    PRECEDENCE,
    VERDICT_TEXT,
    Facts,
    Reason,
    Scope,
    Verdict,
    conclude,
    report_from_json,
    report_to_json,
)
from trustsvc.verification.verifier import Verifier

V = Verdict

#: The intended headline order, best explanation first (the README's table).
INTENDED = [
    V.MALFORMED_INPUT,
    V.NOT_SEALED,
    V.INVALID_SIGNATURE,
    V.UNTRUSTED_ISSUER,
    V.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED,
    V.MODIFIED_AFTER_SEALING,
    V.TIMESTAMP_MISSING,
    V.PRESENTATION_REFUSED,
    V.UNKNOWN_TO_LIBRARY,
    V.NOT_CURRENT,
    V.NOT_YET_VALID,
    V.PRESENTATION_EXPIRED,
    V.PRESENTATION_USED,
    V.NOT_EVALUABLE,
    V.VALID_OFFLINE,
]

#: Every finding verification can report (the generated ones with an example argument).
FINDINGS: list[Reason] = [
    *(value for value in vars(R).values() if isinstance(value, Reason)),
    R.too_large(1024),
    R.presentation_for("窗口"),
    R.presentation_purpose("开立对公账户"),
    *(R.not_current(status) for status in EffectiveStatus if status is not EffectiveStatus.VALID),
    R.not_yet_valid(date(2030, 1, 1)),
]

#: Pairs named in the issue, and others a clerk would get wrong today.
NAMED_PAIRS = [
    (R.NO_TIMESTAMP, R.WRONG_ISSUER, V.UNTRUSTED_ISSUER),
    (R.NO_TIMESTAMP, R.UNTRUSTED_CHAIN, V.UNTRUSTED_ISSUER),
    (R.NO_TIMESTAMP, R.CHANGED_AFTER_SEALING, V.MODIFIED_AFTER_SEALING),
    (R.NO_TIMESTAMP, R.SEAL_REVOKED, V.SEAL_CERTIFICATE_REVOKED_OR_EXPIRED),
    (R.NO_TIMESTAMP, R.UNKNOWN_TO_LIBRARY, V.TIMESTAMP_MISSING),
    (R.NOT_EVALUABLE, R.SIGNATURE_BROKEN, V.INVALID_SIGNATURE),
    (R.TIME_LIMIT_EXCEEDED, R.MALFORMED_STRUCTURE, V.MALFORMED_INPUT),
    (R.REVOCATION_UNAVAILABLE, R.not_current(EffectiveStatus.REVOKED), V.NOT_CURRENT),
    (R.PRESENTATION_USED, R.not_current(EffectiveStatus.REVOKED), V.NOT_CURRENT),
    (R.TOKEN_EXPIRED, R.not_yet_valid(date(2030, 1, 1)), V.NOT_YET_VALID),
    (R.TOKEN_EXPIRED, R.OFFLINE_NOT_CHECKED, V.PRESENTATION_EXPIRED),
    (R.presentation_for("窗口"), R.not_current(EffectiveStatus.SUSPENDED), V.PRESENTATION_REFUSED),
    (R.OFFLINE_NOT_CHECKED, R.TOKEN_SIGNATURE_INVALID, V.INVALID_SIGNATURE),
]


def test_the_precedence_table_orders_every_verdict_once() -> None:
    assert set(PRECEDENCE) == set(Verdict) and set(VERDICT_TEXT) == set(Verdict)
    assert sorted(PRECEDENCE, key=PRECEDENCE.__getitem__) == [*INTENDED, V.VALID]
    assert len(set(PRECEDENCE.values())) == len(PRECEDENCE)
    # No finding is "valid": a finding always refuses or qualifies.
    assert all(f.verdict is not V.VALID for f in FINDINGS)
    assert len({f.code for f in FINDINGS}) > 40


@pytest.mark.parametrize(
    ("first", "second", "headline"),
    NAMED_PAIRS,
    ids=[f"{a.code}+{b.code}" for a, b, _ in NAMED_PAIRS],
)
def test_named_pairs_have_the_intended_headline(
    first: Reason, second: Reason, headline: Verdict
) -> None:
    now = datetime.now(UTC)
    for pair in ([first, second], [second, first]):
        report = conclude(pair, Facts(), now)
        assert report.verdict is headline, [r.code for r in pair]
        assert report.reasons == tuple(pair)  # every finding is still listed


def test_every_pair_of_findings_has_the_intended_headline() -> None:
    now = datetime.now(UTC)
    for first, second in itertools.combinations(FINDINGS, 2):
        intended = min(first.verdict, second.verdict, key=INTENDED.index)
        for pair in ([first, second], [second, first]):
            assert conclude(pair, Facts(), now).verdict is intended, (first.code, second.code)


def test_scope_survives_the_child_process_json() -> None:
    report = conclude([R.OFFLINE_NOT_CHECKED], Facts(), datetime.now(UTC), Scope.OFFLINE)
    again = report_from_json(report_to_json(report))
    assert again.verdict is V.VALID_OFFLINE and again.scope is Scope.OFFLINE
    assert conclude([], Facts(), datetime.now(UTC), Scope.OFFLINE).verdict is V.VALID_OFFLINE


# ---- helpers -------------------------------------------------------------------------


def _data(licenses: IssuingService, valid_from: date | None = None) -> dict[str, str]:
    # A holder of its own: a business license is unique per holder.
    data = {**example_data(get_type(licenses.types, "business-license")), **enterprise_holder()}
    if valid_from is not None:
        data["valid_from"] = valid_from.isoformat()
        data["established_on"] = valid_from.isoformat()
    return data


def _issue(licenses: IssuingService, valid_from: date | None = None) -> str:
    request = IssueRequest(DEPARTMENT_A, "business-license", _data(licenses, valid_from))
    return licenses.issue(request).license.identifier


def _token(licenses: IssuingService, identifier: str) -> str:
    [link] = read_qr_codes(licenses.document(identifier))
    return link.rsplit("/v/", 1)[1]


@pytest.fixture
def verifier(services: Services, licenses: IssuingService) -> Verifier:
    return build_verifier(services, allow_fetching=False)


# ---- 1. not evaluable: the service could not decide ------------------------------------


def test_an_unreachable_revocation_record_is_not_evaluable_not_malformed(
    licenses: IssuingService, verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = licenses.document(_issue(licenses))

    def down(_self: object) -> None:
        raise OperationalError("SELECT", {}, Exception("connection refused"))

    # The database is down: neither a session nor a driver connection can be had.
    monkeypatch.setattr(Database, "begin", down)
    monkeypatch.setattr(Engine, "raw_connection", down)
    report = verifier.verify_pdf(pdf)
    assert report.verdict is V.NOT_EVALUABLE
    assert [r.code for r in report.reasons] == ["revocation_unavailable"]


def test_an_internal_error_is_not_evaluable(
    licenses: IssuingService, verifier: Verifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    pdf = licenses.document(_issue(licenses))

    def broken(*_args: object, **_values: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(verifier.library, "entry_by_document", broken)
    report = verifier.verify_pdf(pdf)
    assert report.verdict is V.NOT_EVALUABLE and [r.code for r in report.reasons] == [
        "not_evaluable"
    ]


# ---- 3. offline answers say they are offline ---------------------------------------------


def _cli(settings: Settings, *args: str, database_url: str) -> tuple[int, str]:
    environment = {
        "TRUSTSVC_KEY_PASSPHRASE": settings.key_passphrase.get_secret_value(),
        "TRUSTSVC_DATABASE_URL": database_url,
        "TRUSTSVC_PUBLIC_BASE_URL": settings.public_base_url,
    }
    result = CliRunner().invoke(
        cli, ["--home", str(settings.home), *args], env=environment, catch_exceptions=False
    )
    return result.exit_code, result.stdout


#: A database nobody can connect to: offline must not even try.
UNREACHABLE = "postgresql+psycopg://nobody:nothing@127.0.0.1:9/none?connect_timeout=1"


def test_offline_cli_reads_no_database_and_says_it_is_offline(
    licenses: IssuingService, settings: Settings, tmp_path: Path
) -> None:
    identifier = _issue(licenses)
    pdf = tmp_path / "license.pdf"
    pdf.write_bytes(licenses.document(identifier))
    token = _token(licenses, identifier)
    home_db = settings.home / "trustsvc.db"
    for args in (["verify", str(pdf)], ["verify-token", token]):
        code, out = _cli(settings, *args, "--offline", database_url=UNREACHABLE)
        assert code == EXIT_VALID_OFFLINE, out
        assert out.startswith("valid_offline  签章有效，未联网核对证照状态") and "offline" in out
        code, out = _cli(settings, *args, "--offline", "--json", database_url=UNREACHABLE)
        answer = json.loads(out)
        assert answer["verdict"] == "valid_offline" and answer["scope"] == "offline"
        assert [r["code"] for r in answer["reasons"]] == ["offline_not_checked"]
    if settings.database_url is None:
        # The SQLite file itself removed: still nothing opens or re-creates it.
        home_db.unlink()
        code, _out = _cli(settings, "verify", str(pdf), "--offline", database_url="")
        assert code == EXIT_VALID_OFFLINE and not home_db.exists()


def test_online_cli_is_valid_and_says_online(
    licenses: IssuingService, settings: Settings, tmp_path: Path
) -> None:
    pdf = tmp_path / "license.pdf"
    pdf.write_bytes(licenses.document(_issue(licenses)))
    code, out = _cli(settings, "verify", str(pdf), database_url=settings.database_url or "")
    assert code == 0 and out.startswith("valid  有效") and "online" in out


def test_an_offline_pdf_from_another_issuer_is_still_refused(
    services: Services,
    licenses: IssuingService,
) -> None:
    from tests.verification import attacks

    pdf = licenses.document(_issue(licenses))
    offline = build_verifier(services, offline=True)
    assert offline.verify_pdf(pdf).verdict is V.VALID_OFFLINE
    assert offline.verify_pdf(attacks.add_page(pdf)).verdict is V.MODIFIED_AFTER_SEALING


# ---- 4. used or expired 亮证 codes ---------------------------------------------------------


def test_a_used_or_expired_code_has_its_own_verdict_and_shows_the_license_in_force(
    services: Services, licenses: IssuingService, verifier: Verifier, clock: FixedClock
) -> None:
    identifier = _issue(licenses)
    code = present(services, identifier, actor="holder", single_use=True)
    assert verifier.verify_token(code.token, checked_by="clerk").is_valid
    used = verifier.verify_token(code.token, checked_by="clerk")
    assert used.verdict is V.PRESENTATION_USED and used.facts.status == "valid"
    assert "请持证人重新出示" in used.reasons[0].message_zh
    later = present(services, identifier, actor="holder")
    clock.advance(timedelta(hours=1))
    expired = verifier.verify_token(later.token, checked_by="clerk")
    assert expired.verdict is V.PRESENTATION_EXPIRED and expired.facts.status == "valid"
    assert "fresh code" in expired.reasons[0].message_en


# ---- 5. not yet valid ---------------------------------------------------------------------


def test_a_license_valid_from_a_later_day_is_not_yet_valid(
    services: Services, licenses: IssuingService, verifier: Verifier, clock: FixedClock
) -> None:
    today = clock.now().astimezone(services.settings.zone).date()
    identifier = _issue(licenses, valid_from=today + timedelta(days=10))
    token = _token(licenses, identifier)
    pdf = verifier.verify_pdf(licenses.document(identifier))
    assert pdf.verdict is V.NOT_YET_VALID and pdf.facts.status == "not_yet_valid"
    assert [r.code for r in pdf.reasons] == ["license_not_yet_valid"]
    assert verifier.verify_token(token).verdict is V.NOT_YET_VALID
    assert verifier.verify_token(token, offline=True).verdict is V.NOT_YET_VALID
    assert verifier.status_of(identifier).verdict is V.NOT_YET_VALID
    clock.advance(timedelta(days=11))
    assert verifier.verify_token(token).verdict is V.VALID


# ---- 6. say what happened -------------------------------------------------------------------


def test_cancelled_and_withdrawn_are_kept_apart_with_date_and_reason(
    services: Services, licenses: IssuingService, verifier: Verifier, clock: FixedClock
) -> None:
    cancelled, withdrawn = _issue(licenses), _issue(licenses)
    clock.current = datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    licenses.transition(
        cancelled,
        Action.REVOKE,
        "clerk",
        "申请人申请注销",
        revocation_kind=RevocationKind.CANCELLED,
    )
    view = licenses.transition(
        withdrawn, Action.REVOKE, "clerk", "违法经营", revocation_kind=RevocationKind.WITHDRAWN
    )
    assert view.revocation_kind == "withdrawn"
    with services.database.begin() as session:
        kinds = session.scalars(
            select(LicenseEvent.revocation_kind).where(LicenseEvent.action == "revoke")
        ).all()
    assert sorted(k or "" for k in kinds) == ["cancelled", "withdrawn"]
    first = verifier.status_of(cancelled)
    assert first.verdict is V.NOT_CURRENT and first.facts.revocation_kind == "cancelled"
    assert first.reasons[0].message_zh == "证照已于2026年12月01日 19:30注销，原因：申请人申请注销。"
    assert first.facts.status_since == datetime(2026, 12, 1, 11, 30, tzinfo=UTC)
    second = verifier.verify_pdf(licenses.document(withdrawn))
    assert second.reasons[0].message_zh == "证照已于2026年12月01日 19:30吊销，原因：违法经营。"
    assert "withdrawn" in second.reasons[0].message_en and "19:30" in second.reasons[0].message_en


def test_suspended_says_when_and_why(licenses: IssuingService, verifier: Verifier) -> None:
    identifier = _issue(licenses)
    licenses.transition(identifier, Action.SUSPEND, "clerk", "整改期间")
    [reason] = verifier.status_of(identifier).reasons
    assert reason.code == "license_suspended" and "暂停，原因：整改期间" in reason.message_zh


def test_superseded_names_the_version_in_force(
    licenses: IssuingService, verifier: Verifier
) -> None:
    identifier = _issue(licenses)
    second = licenses.change(identifier, {"domicile": "杭州市西湖区文三路1号"}, "clerk", "住所变更")
    third = licenses.change(
        second.license.identifier, {"domicile": "杭州市西湖区文三路2号"}, "clerk", "住所再变更"
    )
    report = verifier.verify_token(_token(licenses, identifier))
    assert report.verdict is V.NOT_CURRENT
    assert report.facts.current_identifier == third.license.identifier
    assert report.facts.current_number == third.license.license_number
    [reason] = report.reasons
    assert third.license.identifier in reason.message_zh and "住所变更" in reason.message_zh
    assert third.license.license_number in reason.message_en


def test_the_revoke_command_and_api_require_the_kind(
    licenses: IssuingService, settings: Settings
) -> None:
    identifier = _issue(licenses)
    url = settings.database_url or ""
    code, _out = _cli(settings, "license", "revoke", identifier, "--reason", "x", database_url=url)
    assert code == 2  # usage: --kind is required
    code, out = _cli(
        settings,
        "license",
        "revoke",
        identifier,
        "--kind",
        "withdrawn",
        "--reason",
        "违法经营",
        database_url=url,
    )
    assert code == 0 and json.loads(out)["revocation_kind"] == "withdrawn"
