"""Statistics: licenses per type and calendar month (the service's zone), verifications by
verdict and lookups by purpose and client, for the whole service or one department."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.helpers import DEPARTMENT_A, DEPARTMENT_B, enterprise_holder
from trustsvc.audit.statistics import (
    Scope,
    issued_by_type_and_month,
    last_months,
    lookups_by_purpose_and_client,
    verifications_by_verdict,
)
from trustsvc.clock import FixedClock
from trustsvc.db.models import AccessEvent
from trustsvc.errors import InvalidInputError
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import get_type
from trustsvc.licenses.types.data import example_data
from trustsvc.services import Services

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_months_are_the_service_zones_calendar_months() -> None:
    # 17:30 UTC on 31 January is already 1 February in Beijing.
    months = last_months(datetime(2026, 1, 31, 17, 30, tzinfo=UTC), SHANGHAI, 12)
    assert [m.label for m in months] == [f"2025-{m:02d}" for m in range(3, 13)] + [
        "2026-01",
        "2026-02",
    ]
    assert months[-1].start == datetime(2026, 1, 31, 16, 0, tzinfo=UTC)
    assert months[-1].end == datetime(2026, 2, 28, 16, 0, tzinfo=UTC)
    assert all(a.end == b.start for a, b in itertools.pairwise(months))
    with pytest.raises(ValueError, match="1 to 24"):
        last_months(datetime(2026, 1, 1, tzinfo=UTC), SHANGHAI, 25)


def test_a_scope_takes_only_a_credit_code() -> None:
    with pytest.raises(InvalidInputError):
        Scope("%")
    assert Scope(DEPARTMENT_A).department_code == DEPARTMENT_A


def _issue(licenses: IssuingService) -> str:
    data = dict(example_data(get_type(licenses.types, "business-license")))
    data.update(enterprise_holder())
    return licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license.identifier


def _event(
    at: datetime,
    action: str,
    *,
    returned: list[str],
    answer: str | None = None,
    purpose: str | None = None,
    actor: str = "某银行",
    outcome: str = "answered",
) -> AccessEvent:
    return AccessEvent(
        at=at,
        actor=actor,
        action=action,
        purpose=purpose,
        outcome=outcome,
        returned_json=json.dumps(returned),
        answer=answer,
    )


def test_counts_per_type_month_verdict_and_purpose_in_scope(
    services: Services, licenses: IssuingService, clock: FixedClock
) -> None:
    services = services
    zone = services.settings.zone
    first = _issue(licenses)
    _issue(licenses)
    clock.advance(timedelta(days=40))
    third = _issue(licenses)
    now = clock.now()
    months = last_months(now, zone, 12)
    with services.database.begin() as session:
        session.add_all(
            [
                _event(now, "verify_pdf", returned=[first], answer="valid"),
                _event(now, "verify_token", returned=[third], answer="valid"),
                _event(now, "verify_pdf", returned=[], answer="not_sealed"),
                _event(now, "presentation_check", returned=[first], answer="not_current"),
                # Outside the period, and not a verification: neither is counted.
                _event(months[0].start - timedelta(seconds=1), "verify_pdf", returned=[first]),
                _event(now, "holdings", returned=[first], answer="valid"),
                _event(now, "lookup", returned=[first], purpose="贷款审查", answer="holds"),
                _event(now, "lookup", returned=[third], purpose="贷款审查", answer="holds"),
                _event(now, "lookup", returned=[], purpose="贷款审查", outcome="refused"),
                _event(now, "lookup", returned=[first], purpose="开户", actor="某证券"),
            ]
        )

    everyone, mine, theirs = Scope(), Scope(DEPARTMENT_A), Scope(DEPARTMENT_B)
    table = issued_by_type_and_month(services, everyone, months)
    assert [t.type_key for t in table.types] == ["business-license"]
    assert sum(table.types[0].counts) == 3
    # Two in the month the test started, one 40 days on (one or two months later).
    assert table.types[0].counts[-1] == 1
    assert 2 in table.types[0].counts[:-1]
    assert table.month_totals() == table.types[0].counts
    assert issued_by_type_and_month(services, mine, months) == table
    assert issued_by_type_and_month(services, theirs, months).types == ()

    start, end = months[0].start, months[-1].end
    verdicts = {
        v.verdict: v.count for v in verifications_by_verdict(services, everyone, start, end)
    }
    assert verdicts == {"valid": 2, "not_sealed": 1, "not_current": 1}
    # The unsealed upload named no license: it is no department's.
    mine_verdicts = verifications_by_verdict(services, mine, start, end)
    assert {v.verdict: v.count for v in mine_verdicts} == {"valid": 2, "not_current": 1}
    assert verifications_by_verdict(services, theirs, start, end) == ()

    lookups = lookups_by_purpose_and_client(services, everyone, start, end)
    assert [(x.purpose, x.client, x.answered, x.refused) for x in lookups] == [
        ("贷款审查", "某银行", 2, 1),
        ("开户", "某证券", 1, 0),
    ]
    assert [x.total for x in lookups_by_purpose_and_client(services, mine, start, end)] == [2, 1]
    assert lookups_by_purpose_and_client(services, theirs, start, end) == ()
