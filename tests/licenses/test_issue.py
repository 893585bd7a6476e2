from __future__ import annotations

import json
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation.status import SignatureCoverageLevel
from sqlalchemy import event, func, select

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, current_seal, enterprise_holder
from tests.licenses.pdf_checks import read_qr_codes, validate_offline
from trustsvc.bootstrap import build_licenses
from trustsvc.clock import FixedClock
from trustsvc.codes.identifiers import parse_identifier
from trustsvc.db.models import LicenseEvent, LicenseRecord
from trustsvc.departments.seals import revoke_seal
from trustsvc.errors import (
    ConflictError,
    InvalidInputError,
    InvalidLicenseDataError,
    NotFoundError,
    SealUnavailableError,
)
from trustsvc.licenses import library
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action, LicenseQuery
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.tokens.decoding import parse_token
from trustsvc.tokens.signature import signature_is_valid


def _example(licenses: IssuingService, type_key: str = "business-license") -> dict[str, object]:
    return dict(example_data(get_type(licenses.types, type_key)))


def _issue(licenses: IssuingService, type_key: str = "business-license", **extra: object):  # type: ignore[no-untyped-def]
    code = DEPARTMENT_B if type_key == "construction-permit" else DEPARTMENT_A
    # A holder of its own: some types allow a holder only one current license.
    holder = enterprise_holder() if licenses.types[type_key].unique_per_holder else {}
    return licenses.issue(
        IssueRequest(code, type_key, {**_example(licenses, type_key), **holder, **extra})
    )


def _license_count(services: Services) -> int:
    with services.database.begin() as session:
        return session.scalar(select(func.count()).select_from(LicenseRecord)) or 0


def _stored_documents(services: Services) -> list[Path]:
    folder = services.settings.home / "documents"
    return sorted(folder.rglob("*.pdf")) if folder.exists() else []


def test_issued_license_validates_offline_with_pyhanko(
    services: Services, licenses: IssuingService
) -> None:
    result = _issue(licenses)
    assert result.created and result.license.status == "valid"
    pdf = licenses.document(result.license.identifier)
    status, dss = validate_offline(services, pdf)
    assert status.intact and status.valid and status.trusted and status.bottom_line
    # B-LT in one revision: the seal covers the whole file, its DSS included.
    assert status.coverage is SignatureCoverageLevel.ENTIRE_FILE
    assert status.modification_level is ModificationLevel.NONE
    assert status.docmdp_ok
    assert status.timestamp_validity is not None and status.timestamp_validity.valid
    assert status.timestamp_validity.trusted
    seal = current_seal(services, DEPARTMENT_A)
    assert status.signing_cert.dump() == seal.public_bytes(Encoding.DER)
    # B-LT: OCSP for the seal, CRLs for the CAs, all embedded.
    assert list(dss.ocsps) and list(dss.crls)


def test_every_shipped_type_issues_and_validates(
    services: Services, licenses: IssuingService
) -> None:
    for type_key in licenses.types:
        result = _issue(licenses, type_key)
        status, _dss = validate_offline(services, licenses.document(result.license.identifier))
        assert status.bottom_line, type_key


def test_the_qr_code_on_the_page_carries_a_verifiable_token(
    services: Services, licenses: IssuingService
) -> None:
    result = _issue(licenses)
    [text] = read_qr_codes(licenses.document(result.license.identifier))
    base = services.settings.public_base_url
    assert text.startswith(f"{base}/v/")
    parsed = parse_token(text.removeprefix(f"{base}/v/"))
    assert parsed.claims.identifier == result.license.identifier
    assert parsed.claims.issuer_code == DEPARTMENT_A
    assert signature_is_valid(parsed, current_seal(services, DEPARTMENT_A))
    assert not signature_is_valid(parsed, current_seal(services, DEPARTMENT_B))


def test_identifier_and_number(licenses: IssuingService) -> None:
    first = _issue(licenses).license
    second = _issue(licenses, holder_name="杭州另一家科技有限公司").license
    for view in (first, second):
        parsed = parse_identifier(view.identifier)
        assert parsed.issuer_code == DEPARTMENT_A and parsed.version == 1
        assert parsed.type_code == get_type(licenses.types, "business-license").code
    assert parse_identifier(first.identifier).serial != parse_identifier(second.identifier).serial
    assert first.license_number != second.license_number


def test_idempotent_retry_returns_the_same_license(
    services: Services, licenses: IssuingService
) -> None:
    request = IssueRequest(
        DEPARTMENT_A, "business-license", _example(licenses), idempotency_key="k-1"
    )
    first = licenses.issue(request)
    again = licenses.issue(request)
    assert not again.created
    assert again.license.identifier == first.license.identifier
    assert again.license.sha256 == first.license.sha256
    assert _license_count(services) == 1
    other = IssueRequest(
        DEPARTMENT_A,
        "business-license",
        {**_example(licenses), "holder_name": "别的公司"},
        idempotency_key="k-1",
    )
    with pytest.raises(ConflictError, match="different request"):
        licenses.issue(other)


def test_concurrent_issuance_with_one_key_yields_one_license(
    services: Services, licenses: IssuingService
) -> None:
    request = IssueRequest(
        DEPARTMENT_A, "business-license", _example(licenses), idempotency_key="same"
    )
    barrier = threading.Barrier(4)

    def attempt(_: int) -> str:
        barrier.wait()
        return licenses.issue(request).license.identifier

    with ThreadPoolExecutor(4) as pool:
        identifiers = set(pool.map(attempt, range(4)))
    assert len(identifiers) == 1
    assert _license_count(services) == 1


def test_concurrent_issuance_never_repeats_a_serial(licenses: IssuingService) -> None:
    def attempt(index: int) -> str:
        return _issue(licenses, holder_name=f"杭州第{index}科技有限公司").license.identifier

    with ThreadPoolExecutor(4) as pool:
        identifiers = list(pool.map(attempt, range(8)))
    serials = [parse_identifier(i).serial for i in identifiers]
    assert len(set(serials)) == 8


@pytest.mark.parametrize(
    ("department", "type_key", "changes", "error", "message"),
    [
        (DEPARTMENT_A, "no-such-type", {}, NotFoundError, "no-such-type"),
        (
            DEPARTMENT_A,
            "business-license",
            {"legal_representative": None},
            InvalidLicenseDataError,
            "legal_representative",
        ),
        (
            DEPARTMENT_A,
            "business-license",
            {"holder_id": "91330106MA27XXXX10"},
            InvalidLicenseDataError,
            "holder_id",
        ),
        (
            DEPARTMENT_A,
            "business-license",
            {"credit_code": "91330106MA27U1T087"},
            InvalidLicenseDataError,
            "credit_code: unified social credit code .* has check character '7'",
        ),
        (
            DEPARTMENT_A,
            "business-license",
            {"credit_code": "91330106MA2H00014Q"},
            InvalidLicenseDataError,
            "credit_code: '91330106MA2H00014Q' is not the holder ID",
        ),
        (
            DEPARTMENT_A,
            "business-license",
            {"valid_from": "1900-01-01"},
            InvalidLicenseDataError,
            "valid_from: 1900-01-01 is before 1949-10-01",
        ),
        (
            DEPARTMENT_A,
            "business-license",
            {"established_on": "2999-01-01"},
            InvalidLicenseDataError,
            "established_on: 2999-01-01 is more than 100 years after today",
        ),
        ("91330000000000000X", "business-license", {}, InvalidInputError, "check character"),
        ("11330100MB00000099", "business-license", {}, InvalidInputError, "credit code"),
    ],
)
def test_bad_input_is_a_clear_error_and_stores_nothing(
    services: Services,
    licenses: IssuingService,
    department: str,
    type_key: str,
    changes: dict[str, object],
    error: type[Exception],
    message: str,
) -> None:
    data = {**_example(licenses), **changes} if type_key != "no-such-type" else {}
    data = {k: v for k, v in data.items() if v is not None}
    with pytest.raises(error, match=message):
        licenses.issue(IssueRequest(department, type_key, data))
    assert _license_count(services) == 0
    assert _stored_documents(services) == []


def test_the_issued_business_license_prints_the_holders_credit_code(
    licenses: IssuingService,
) -> None:
    from tests.documents.test_render import read_page

    holder = enterprise_holder()
    result = _issue(licenses, **holder)
    lines = [text for _, text, _ in read_page(licenses.document(result.license.identifier)).lines()]
    holder_id = holder["holder_id"]
    assert "credit_code" not in result.license.fields  # kept once, sealed, as the holder ID
    # Label and code at the top, above the title, as on the paper license.
    title = next(i for i, line in enumerate(lines) if line.replace(" ", "") == "营业执照")
    assert "统一社会信用代码" in lines[:title] and holder_id in lines[:title]
    assert sum(line.count(holder_id) for line in lines) == 1


def test_unknown_department_is_refused(services: Services, licenses: IssuingService) -> None:
    from tests.helpers import credit_code

    with pytest.raises(NotFoundError, match="no department"):
        licenses.issue(
            IssueRequest(credit_code("11330100MB0000009"), "business-license", _example(licenses))
        )
    assert _license_count(services) == 0


def test_a_revoked_seal_cannot_issue(services: Services, licenses: IssuingService) -> None:
    revoke_seal(services, DEPARTMENT_A, "key_compromise")
    with pytest.raises(SealUnavailableError, match="no usable seal"):
        _issue(licenses)
    assert _license_count(services) == 0
    assert _stored_documents(services) == []


def test_holder_ids_are_not_stored_in_clear(services: Services, licenses: IssuingService) -> None:
    holder = enterprise_holder()
    data = {**_example(licenses), **holder}
    holder_id = str(data["holder_id"])
    _issue(licenses, **holder)
    database_file = services.settings.home / "trustsvc.db"
    if database_file.exists():
        raw = database_file.read_bytes() + b"".join(
            p.read_bytes() for p in database_file.parent.glob("trustsvc.db-*")
        )
        assert holder_id.encode() not in raw
    with services.database.begin() as session:
        record = session.scalars(select(LicenseRecord)).one()
        assert holder_id not in (record.holder_id_digest, record.holder_id_sealed.hex())
    found = licenses.search(LicenseQuery(), holder_id, str(data["holder_id_type"]))
    assert len(found) == 1


# ---- lifecycle ----------------------------------------------------------------------


def test_suspend_resume_revoke_with_who_when_why(
    services: Services, licenses: IssuingService
) -> None:
    identifier = _issue(licenses).license.identifier
    with pytest.raises(InvalidInputError, match="reason"):
        licenses.transition(identifier, Action.SUSPEND, "clerk-1", None)
    assert (
        licenses.transition(identifier, Action.SUSPEND, "clerk-1", "整改期间").status == "suspended"
    )
    with pytest.raises(ConflictError, match="suspended"):
        licenses.transition(identifier, Action.SUSPEND, "clerk-1", "again")
    assert licenses.transition(identifier, Action.RESUME, "clerk-2", None).status == "valid"
    revoked = licenses.transition(identifier, Action.REVOKE, "clerk-3", "吊销：违法经营")
    assert revoked.status == "revoked" and revoked.status_reason == "吊销：违法经营"
    for action in (Action.SUSPEND, Action.RESUME, Action.REVOKE):
        with pytest.raises(ConflictError, match="revoked"):
            licenses.transition(identifier, action, "clerk-4", "no")
    with services.database.begin() as session:
        events = session.scalars(select(LicenseEvent).order_by(LicenseEvent.id)).all()
        assert [(e.action, e.actor, e.to_status) for e in events] == [
            ("issue", "operator", "valid"),
            ("suspend", "clerk-1", "suspended"),
            ("resume", "clerk-2", "valid"),
            ("revoke", "clerk-3", "revoked"),
        ]


def test_change_issues_the_next_version_and_supersedes(
    services: Services, licenses: IssuingService
) -> None:
    old = _issue(licenses).license
    with pytest.raises(InvalidInputError, match="reason"):
        licenses.change(old.identifier, {"domicile": "杭州市西湖区文三路1号"}, "clerk", None)
    new = licenses.change(
        old.identifier, {"domicile": "杭州市西湖区文三路1号"}, "clerk", "住所变更"
    ).license
    old_parsed, new_parsed = parse_identifier(old.identifier), parse_identifier(new.identifier)
    assert new_parsed.serial == old_parsed.serial and new_parsed.version == 2
    assert new.supersedes == old.identifier and new.license_number == old.license_number
    assert new.fields["domicile"] == "杭州市西湖区文三路1号"
    assert licenses.show(old.identifier).status == "superseded"
    with pytest.raises(ConflictError, match="superseded"):
        licenses.change(old.identifier, {"domicile": "x"}, "clerk", "again")
    status, _ = validate_offline(services, licenses.document(new.identifier))
    assert status.bottom_line


def test_a_change_drops_a_field_the_type_no_longer_declares(
    services: Services, licenses: IssuingService
) -> None:
    # Decisions issued while the type had a separate 文号 field keep changing.
    old = _issue(licenses, "administrative-permission-decision").license
    with services.database.begin() as session:
        record = session.scalars(select(LicenseRecord)).one()
        record.fields_json = json.dumps(
            {**json.loads(record.fields_json), "document_number": "杭市监许字〔2026〕第0001号"}
        )
    changed = licenses.change(
        old.identifier, {"applicant": "杭州示例生物医药股份有限公司"}, "c", "更名"
    )
    assert "document_number" not in changed.license.fields
    assert changed.license.fields["applicant"] == "杭州示例生物医药股份有限公司"


def test_expiry_follows_the_dates(licenses: IssuingService, clock: FixedClock) -> None:
    view = _issue(licenses, "food-business-permit").license
    assert view.valid_until is not None and view.status == "valid"
    days = (view.valid_until - view.valid_from).days + 2
    clock.advance(timedelta(days=days))
    assert licenses.show(view.identifier).status == "expired"
    with pytest.raises(ConflictError, match="expired"):
        licenses.change(view.identifier, {"domicile": "x"}, "clerk", "late")


def test_two_processes_share_the_serial_space(services: Services, licenses: IssuingService) -> None:
    # A second service on the same database stands for another worker or node:
    # each reserves its own block of serials, and no serial is ever given twice.
    other = build_licenses(services)
    identifiers = []
    for index in range(6):
        service = licenses if index % 2 else other
        view = service.issue(
            IssueRequest(
                DEPARTMENT_A,
                "business-license",
                {
                    **_example(licenses),
                    **enterprise_holder(),
                    "holder_name": f"杭州第{index}号公司",
                },
            )
        ).license
        identifiers.append(view.identifier)
    serials = [parse_identifier(i).serial for i in identifiers]
    assert len(set(serials)) == len(serials)


def test_identifiers_cannot_be_guessed_from_one_another(
    services: Services, licenses: IssuingService
) -> None:
    # Consecutive issuances, from two services (two processes' blocks of the counter):
    # the serials are unique, and knowing one tells nothing about the next.
    other = build_licenses(services)
    views = [
        (licenses if index % 2 else other)
        .issue(
            IssueRequest(
                DEPARTMENT_A,
                "business-license",
                {
                    **_example(licenses),
                    **enterprise_holder(),
                    "holder_name": f"杭州第{index}号公司",
                },
            )
        )
        .license
        for index in range(6)
    ]
    serials = [int(parse_identifier(view.identifier).serial) for view in views]
    assert len(set(serials)) == len(serials)
    year = licenses.today().year
    assert all(str(serial).startswith(str(year)) and len(str(serial)) == 20 for serial in serials)
    # With a counter they would lie within a block (16) of each other.
    assert min(abs(a - b) for a in serials for b in serials if a != b) > 10**6
    # The printed numbers are still the counter's visible sequence.
    assert len({view.license_number for view in views}) == len(views)


# ---- reading and changing in a fixed number of queries; the service's own date -------------


def _statements_during(licenses: IssuingService, call: Callable[[], object]) -> int:
    """How many SQL statements ``call`` sends to the database."""
    sent: list[str] = []

    def count(*args: Any) -> None:
        sent.append(args[2])

    engine = licenses.database.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(sent)


def test_a_search_costs_the_same_queries_for_one_license_or_many(
    licenses: IssuingService,
) -> None:
    query = LicenseQuery(department_code=DEPARTMENT_A, type_key="business-license")
    first = _issue(licenses).license
    licenses.change(first.identifier, {"domicile": "杭州市西湖区文三路1号"}, "c", "住所")
    few = _statements_during(licenses, lambda: licenses.search(query))
    others = [_issue(licenses).license for _ in range(3)]
    changed = licenses.change(others[0].identifier, {"domicile": "杭州市上城区"}, "c", "住所")
    found = licenses.search(query)
    assert len(found) == 6 and found[0].identifier == changed.license.identifier
    assert found[0].supersedes == others[0].identifier
    assert [v.issuer_name for v in found] == ["杭州市市场监督管理局"] * 6
    many = _statements_during(licenses, lambda: licenses.search(query))
    # The page, and the identifiers the changed versions supersede: two, however many.
    assert many == few == 2


def test_a_change_reads_the_old_version_once(
    licenses: IssuingService, monkeypatch: pytest.MonkeyPatch
) -> None:
    old = _issue(licenses).license
    reads: list[str] = []
    for name in ("resolve", "find", "find_for_update"):
        original = getattr(library, name)

        def counted(*args: Any, _name: str = name, _original: Any = original) -> Any:
            reads.append(_name)
            return _original(*args)

        monkeypatch.setattr(library, name, counted)
    licenses.change(old.identifier, {"domicile": "杭州市西湖区文三路1号"}, "clerk", "住所变更")
    # Once for its facts, once locked where the change is recorded.
    assert sorted(reads) == ["find_for_update", "resolve"]


def test_a_change_is_judged_by_the_services_date_not_utcs(
    licenses: IssuingService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A license whose last day of validity is today in Shanghai (the service's zone).
    last_day = licenses.today()
    day = last_day.isoformat()
    old = _issue(licenses, "construction-permit", valid_from=day, valid_until=day).license
    produce = licenses.producer.produce

    def sealed_past_midnight(*args: Any, **kwargs: Any) -> Any:
        sealed = produce(*args, **kwargs)
        # When the change is recorded it is 00:00:01 the next day in Shanghai, and
        # still the last day in UTC: the license has expired by the service's date.
        clock.current = datetime.combine(last_day, time(16, 0, 1), UTC)
        assert clock.now().date() == last_day and licenses.today() > last_day
        return sealed

    monkeypatch.setattr(licenses.producer, "produce", sealed_past_midnight)
    with pytest.raises(ConflictError, match="expired"):
        licenses.change(old.identifier, {"project_name": "x"}, "clerk", "晚了")
    assert licenses.show(old.identifier).status == "expired"
