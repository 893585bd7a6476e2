"""Entitlement to license types: the types' issuer rules, grants and denials, and the
verifier judging a seal by the same rule as of the time it was sealed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, credit_code
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.api.errors import http_status
from trustsvc.audit.operators import operator_events
from trustsvc.bootstrap import build_licenses, build_verifier
from trustsvc.clock import FixedClock
from trustsvc.codes.identifiers import LicenseIdentifier
from trustsvc.db.models import LicenseRecord
from trustsvc.departments.kinds import DepartmentKind, kind_from_name
from trustsvc.departments.registry import add_department, set_kind
from trustsvc.departments.seals import active_seal
from trustsvc.errors import ConfigurationError, InvalidInputError, TypeNotEntitledError
from trustsvc.licenses.entitlement import set_entitlement, standings
from trustsvc.licenses.issuers import Decision, Issuer, IssuerRule, is_entitled
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type, load_types, validate_license_data
from trustsvc.services import Services
from trustsvc.tokens.decoding import parse_token
from trustsvc.verification.report import Verdict

#: 杭州市自然资源和规划局: the real-estate registration authority of the tests.
DEPARTMENT_C = credit_code("11330100MB0000003")
SHIPPED = Path(__file__).parents[2] / "trustsvc" / "licenses" / "catalogue"


@pytest.fixture
def plain(services: Services) -> IssuingService:
    """Departments A (market regulation), B (housing) and C (natural resources), no grants."""
    add_department(services, "杭州市市场监督管理局", DEPARTMENT_A, "330100")
    add_department(services, "宁波市住房和城乡建设局", DEPARTMENT_B, "330200")
    add_department(services, "杭州市自然资源和规划局", DEPARTMENT_C, "330100")
    return build_licenses(services)


def _issue(licenses: IssuingService, code: str, type_key: str) -> str:
    data = example_data(get_type(licenses.types, type_key))
    return licenses.issue(IssueRequest(code, type_key, data)).license.identifier


def _licenses_recorded(services: Services) -> int:
    with services.database.begin() as session:
        return session.scalar(select(func.count()).select_from(LicenseRecord)) or 0


# ---- the rule ---------------------------------------------------------------------


def test_a_market_regulator_may_not_issue_a_real_estate_certificate(
    services: Services,
    plain: IssuingService,
) -> None:
    with pytest.raises(TypeNotEntitledError) as refused:
        _issue(plain, DEPARTMENT_A, "real-estate-certificate")
    assert refused.value.code == "type-not-entitled" and http_status(refused.value) == 403
    assert "杭州市市场监督管理局" in refused.value.message
    assert "natural-resources" in refused.value.message
    assert _licenses_recorded(services) == 0


@pytest.mark.parametrize(
    ("code", "type_key"),
    [
        (DEPARTMENT_A, "business-license"),
        (DEPARTMENT_A, "food-business-permit"),
        (DEPARTMENT_B, "construction-permit"),
        (DEPARTMENT_C, "real-estate-certificate"),
        (DEPARTMENT_B, "administrative-permission-decision"),
    ],
)
def test_each_shipped_type_is_issued_by_its_kind_of_department(
    plain: IssuingService, code: str, type_key: str
) -> None:
    assert _issue(plain, code, type_key)


def test_the_shipped_types_name_their_issuers() -> None:
    types = load_types()
    market = Issuer(DEPARTMENT_A, DepartmentKind.MARKET_REGULATION, "330100")
    housing = Issuer(DEPARTMENT_B, DepartmentKind.HOUSING_CONSTRUCTION, "330200")
    resources = Issuer(DEPARTMENT_C, DepartmentKind.NATURAL_RESOURCES, "330100")
    table = {
        "business-license": (True, False, False),
        "food-business-permit": (True, False, False),
        "construction-permit": (False, True, False),
        "real-estate-certificate": (False, False, True),
        "administrative-permission-decision": (True, True, True),
    }
    for key, expected in table.items():
        rule = types[key].issuers
        assert tuple(rule.admits(i) for i in (market, housing, resources)) == expected, key


def test_kinds_regions_and_codes_combine_as_documented() -> None:
    rule = IssuerRule(kinds=frozenset({DepartmentKind.MARKET_REGULATION}), regions=("3301",))
    assert rule.admits(Issuer(DEPARTMENT_A, DepartmentKind.MARKET_REGULATION, "330106"))
    assert not rule.admits(Issuer(DEPARTMENT_A, DepartmentKind.MARKET_REGULATION, "330201"))
    assert not rule.admits(Issuer(DEPARTMENT_A, DepartmentKind.HEALTH, "330106"))
    assert not rule.admits(Issuer(DEPARTMENT_A, None, "330106"))
    by_region = IssuerRule(regions=("33",))
    assert by_region.admits(Issuer(DEPARTMENT_B, None, "330200"))
    assert not by_region.admits(Issuer(DEPARTMENT_B, None, None))
    by_code = IssuerRule(codes=frozenset({DEPARTMENT_B}))
    assert by_code.admits(Issuer(DEPARTMENT_B, None, None))
    assert not by_code.admits(Issuer(DEPARTMENT_A, DepartmentKind.HEALTH, "330100"))
    assert not IssuerRule().admits(Issuer(DEPARTMENT_A, DepartmentKind.HEALTH, "330100"))


def test_the_newest_decision_before_the_moment_wins_over_the_rule() -> None:
    rule = IssuerRule(kinds=frozenset({DepartmentKind.MARKET_REGULATION}))
    issuer = Issuer(DEPARTMENT_A, DepartmentKind.MARKET_REGULATION, "330100")
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    denial, grant = Decision(t0, False), Decision(t0 + timedelta(days=10), True)
    assert is_entitled(rule, issuer, [denial, grant], t0 - timedelta(seconds=1))
    assert not is_entitled(rule, issuer, [grant, denial], t0)
    assert not is_entitled(rule, issuer, [denial, grant], t0 + timedelta(days=9))
    assert is_entitled(rule, issuer, [denial, grant], t0 + timedelta(days=10))


def test_a_kind_is_taken_from_the_name_or_given() -> None:
    assert kind_from_name("杭州市市场监督管理局") is DepartmentKind.MARKET_REGULATION
    assert kind_from_name("宁波市住房和城乡建设局") is DepartmentKind.HOUSING_CONSTRUCTION
    assert kind_from_name("某市不动产登记中心") is DepartmentKind.NATURAL_RESOURCES
    assert kind_from_name("某某办公室") is None


def test_a_department_gets_a_kind_and_an_unknown_kind_is_refused(services: Services) -> None:
    info = add_department(services, "某某办公室", DEPARTMENT_A, "330100", kind="自然资源")
    assert info.kind == "natural-resources"
    with pytest.raises(InvalidInputError, match="unknown department kind"):
        add_department(services, "另一办公室", DEPARTMENT_B, kind="ministry-of-magic")
    assert set_kind(services, DEPARTMENT_A, "health").kind == "health"


# ---- type files ---------------------------------------------------------------------


def _with_issuers(tmp_path: Path, issuers: str) -> None:
    text = (SHIPPED / "business-license.toml").read_text(encoding="utf-8")
    start = text.index("[issuers]")
    end = text.index("[validity]")
    (tmp_path / "business-license.toml").write_text(
        text[:start] + issuers + "\n\n" + text[end:], encoding="utf-8"
    )


@pytest.mark.parametrize(
    ("issuers", "message"),
    [
        ("", "issuers is required"),
        ("[issuers]", "name who may issue it"),
        ('[issuers]\nkinds = ["wizards"]', "unknown department kind"),
        ('[issuers]\nregions = ["3"]', "2, 4 or 6 digits"),
        ('[issuers]\ncodes = ["11330100MB00000010"]', "[issuers]"),
        ('[issuers]\nany_department = true\nkinds = ["health"]', "stands alone"),
        ("[issuers]\nanyone = true", "unknown key anyone"),
    ],
)
def test_a_bad_issuers_table_stops_loading(tmp_path: Path, issuers: str, message: str) -> None:
    _with_issuers(tmp_path, issuers)
    with pytest.raises(ConfigurationError) as caught:
        load_types(tmp_path)
    assert message in caught.value.message


def test_a_region_and_code_rule_loads(tmp_path: Path) -> None:
    _with_issuers(tmp_path, f'[issuers]\nregions = ["3301"]\ncodes = ["{DEPARTMENT_B}"]')
    rule = load_types(tmp_path)["business-license"].issuers
    assert rule == IssuerRule(regions=("3301",), codes=frozenset({DEPARTMENT_B}))


# ---- grants and denials ---------------------------------------------------------------


def test_allow_and_deny_change_entitlement_from_then_on_and_are_recorded(
    services: Services, plain: IssuingService, clock: FixedClock
) -> None:
    set_entitlement(services, DEPARTMENT_A, "real-estate-certificate", allowed=True, reason="试点")
    _issue(plain, DEPARTMENT_A, "real-estate-certificate")
    clock.advance(timedelta(seconds=1))
    set_entitlement(services, DEPARTMENT_A, "business-license", allowed=False, reason="撤并")
    with pytest.raises(TypeNotEntitledError, match="denied"):
        _issue(plain, DEPARTMENT_A, "business-license")
    entries = [e for e in operator_events(services) if e.action.startswith("type_")]
    assert [(e.action, e.target, e.details) for e in entries] == [
        ("type_deny", DEPARTMENT_A, {"type": "business-license", "reason": "撤并"}),
        ("type_allow", DEPARTMENT_A, {"type": "real-estate-certificate", "reason": "试点"}),
    ]


def test_standings_say_what_a_department_may_issue_now_and_why(
    services: Services, plain: IssuingService, clock: FixedClock
) -> None:
    def now_for(code: str) -> dict[str, tuple[bool, bool, bool | None]]:
        return {
            s.license_type.key: (s.by_rule, s.entitled, s.latest.allowed if s.latest else None)
            for s in standings(services, code)
        }

    before = now_for(DEPARTMENT_A)
    assert before["business-license"] == (True, True, None)
    assert before["real-estate-certificate"] == (False, False, None)
    assert now_for(DEPARTMENT_C)["real-estate-certificate"] == (True, True, None)
    set_entitlement(services, DEPARTMENT_A, "business-license", allowed=False)
    clock.advance(timedelta(seconds=1))
    set_entitlement(services, DEPARTMENT_A, "real-estate-certificate", allowed=True)
    after = now_for(DEPARTMENT_A)
    assert after["business-license"] == (True, False, False)
    assert after["real-estate-certificate"] == (False, True, True)
    # What standings say is what issuance decides.
    _issue(plain, DEPARTMENT_A, "real-estate-certificate")
    with pytest.raises(TypeNotEntitledError):
        _issue(plain, DEPARTMENT_A, "business-license")


def test_a_change_by_a_denied_department_is_refused(
    services: Services, plain: IssuingService, clock: FixedClock
) -> None:
    identifier = _issue(plain, DEPARTMENT_A, "business-license")
    clock.advance(timedelta(seconds=1))
    set_entitlement(services, DEPARTMENT_A, "business-license", allowed=False)
    with pytest.raises(TypeNotEntitledError):
        plain.change(identifier, {"holder_name": "杭州示例新名有限公司"}, "clerk", "更名")
    assert plain.show(identifier).status == "valid"


# ---- verification ---------------------------------------------------------------------


def _forged(
    services: Services, licenses: IssuingService, code: str, type_key: str
) -> tuple[bytes, str]:
    """A document sealed with a department's genuine seal, outside the service's issuance:
    what a department (or whoever holds its seal key) could make without the library."""
    license_type = get_type(licenses.types, type_key)
    data = validate_license_data(license_type, example_data(license_type), licenses.today())
    seal = active_seal(services, code)
    serial = licenses.producer.serials.serial(seal.department_code, licenses.today().year, 10**9)
    identifier = LicenseIdentifier(license_type.code, seal.department_code, serial, 1)
    sealed = licenses.producer.produce(identifier, "FORGED-1", license_type, data, seal)
    token = _token_of(sealed.pdf)
    return sealed.pdf, token


def _token_of(pdf: bytes) -> str:
    [link] = read_qr_codes(pdf)
    return link.rsplit("/v/", 1)[1]


def test_a_seal_of_a_department_not_entitled_to_the_type_is_refused(
    services: Services,
    plain: IssuingService,
) -> None:
    pdf, token = _forged(services, plain, DEPARTMENT_A, "real-estate-certificate")
    verifier = build_verifier(services, allow_fetching=False)
    report = verifier.verify_pdf(pdf)
    assert report.verdict is Verdict.UNTRUSTED_ISSUER
    assert "issuer_not_entitled" in [r.code for r in report.reasons]
    assert parse_token(token).claims.issuer_code == DEPARTMENT_A
    by_token = verifier.verify_token(token)
    assert by_token.verdict is Verdict.UNTRUSTED_ISSUER
    assert "issuer_not_entitled" in [r.code for r in by_token.reasons]
    # The same kind of document from the entitled department is only unknown to the library.
    entitled_pdf, _ = _forged(services, plain, DEPARTMENT_C, "real-estate-certificate")
    unknown = verifier.verify_pdf(entitled_pdf)
    assert "issuer_not_entitled" not in [r.code for r in unknown.reasons]
    assert unknown.verdict is Verdict.UNKNOWN_TO_LIBRARY


def test_a_later_denial_leaves_licenses_sealed_before_it_valid(
    services: Services, plain: IssuingService, clock: FixedClock
) -> None:
    identifier = _issue(plain, DEPARTMENT_A, "business-license")
    pdf = plain.document(identifier)
    token = _token_of(pdf)
    clock.advance(timedelta(minutes=5))
    set_entitlement(services, DEPARTMENT_A, "business-license", allowed=False)
    verifier = build_verifier(services, allow_fetching=False)
    assert verifier.verify_pdf(pdf).verdict is Verdict.VALID
    assert verifier.verify_token(token).verdict is Verdict.VALID
    # What the department seals after the denial is not entitled.
    late_pdf, late_token = _forged(services, plain, DEPARTMENT_A, "business-license")
    assert "issuer_not_entitled" in [r.code for r in verifier.verify_pdf(late_pdf).reasons]
    assert "issuer_not_entitled" in [r.code for r in verifier.verify_token(late_token).reasons]


def test_a_library_license_of_a_type_its_issuer_was_never_entitled_to_is_refused(
    services: Services, plain: IssuingService, clock: FixedClock
) -> None:
    """A license recorded before the rule existed (here: under a grant, then the grant row
    removed, as a database from before migration 0013 would have it) is judged by the rule."""
    from trustsvc.db.models import TypeEntitlement

    set_entitlement(services, DEPARTMENT_A, "real-estate-certificate", allowed=True)
    identifier = _issue(plain, DEPARTMENT_A, "real-estate-certificate")
    with services.database.begin() as session:
        session.query(TypeEntitlement).delete()
    report = build_verifier(services, allow_fetching=False).verify_pdf(plain.document(identifier))
    assert report.verdict is Verdict.UNTRUSTED_ISSUER
    assert [r.code for r in report.reasons] == ["issuer_not_entitled"]
    by_token = build_verifier(services).verify_token(_token_of(plain.document(identifier)))
    assert [r.code for r in by_token.reasons] == ["issuer_not_entitled"]


def test_a_license_issued_just_after_a_grant_verifies_though_its_timestamp_is_rounded(
    services: Services, plain: IssuingService, clock: FixedClock
) -> None:
    """The timestamp's time is whole seconds (accuracy 1 s): a library license is judged
    as of the issuance the library recorded, not the rounded-down time."""
    clock.advance(timedelta(milliseconds=700))
    set_entitlement(services, DEPARTMENT_A, "real-estate-certificate", allowed=True)
    identifier = _issue(plain, DEPARTMENT_A, "real-estate-certificate")
    pdf = plain.document(identifier)
    verifier = build_verifier(services, allow_fetching=False)
    assert verifier.verify_pdf(pdf).verdict is Verdict.VALID
    assert verifier.verify_token(_token_of(pdf)).verdict is Verdict.VALID
