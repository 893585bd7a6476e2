"""`department revoke-seal --invalid-since`: RFC 5280 invalidityDate from the command line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from tests.cli.running import invoke
from tests.helpers import DEPARTMENT_A
from trustsvc.departments.registry import get_department
from trustsvc.licenses.issuing import IssuingService
from trustsvc.services import Services
from trustsvc.settings import Settings


def test_revoke_seal_takes_an_invalidity_date(
    services: Services, licenses: IssuingService, settings: Settings
) -> None:
    [seal] = get_department(services, DEPARTMENT_A).seals
    since = seal.not_before.astimezone(UTC)
    base = ["department", "revoke-seal", "--code", DEPARTMENT_A]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    code, _out, err = invoke(
        settings, *base, "--reason", "key_compromise", "--invalid-since", future
    )
    assert code == 65 and err.startswith("trustsvc: error: ") and "future" in err
    assert len(err.strip().splitlines()) == 1
    code, _out, err = invoke(
        settings, *base, "--reason", "key_compromise", "--invalid-since", "soon"
    )
    assert code == 65 and "ISO 8601" in err
    code, _out, err = invoke(settings, *base, "--invalid-since", since.isoformat())
    assert code == 65 and "key_compromise" in err
    code, out, err = invoke(
        settings, *base, "--reason", "key_compromise", "--invalid-since", since.isoformat()
    )
    assert code == 0, err
    [revoked] = json.loads(out)
    assert revoked["revocation_reason"] == "key_compromise"
    assert datetime.fromisoformat(revoked["invalidity_date"]) == since


@pytest.mark.parametrize("written", ["2026-11-30T08:00:00", "2026-11-30 08:00"])
def test_a_time_without_offset_is_in_the_service_zone(written: str) -> None:
    from zoneinfo import ZoneInfo

    from trustsvc.cli.options import parse_moment

    moment = parse_moment(written, ZoneInfo("Asia/Shanghai"), "--invalid-since")
    assert moment == datetime(2026, 11, 30, 0, 0, tzinfo=UTC)
