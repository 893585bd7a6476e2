"""The access record's writer: durable before the caller goes on, one bad row fails alone."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import IntegrityError

from tests.helpers import add_purposes
from trustsvc.audit.access_reading import access_events
from trustsvc.audit.access_record import Access, AccessAction, AccessLog, Outcome
from trustsvc.db.models import ClientRole
from trustsvc.services import Services
from trustsvc.sharing.clients import Client, add_client


def _access(purpose: str) -> Access:
    return Access(AccessAction.LOOKUP, Outcome.ANSWERED, purpose=purpose)


def test_rows_of_one_batch_are_committed_together_and_a_bad_one_fails_alone(
    services: Services,
) -> None:
    add_purposes(services, "开户")
    info, _key = add_client(services, "银行", "verifier", purposes=["开户"])
    ghost = Client(999_999, "ghost", ClientRole.VERIFIER, None, None, (), None)
    log = AccessLog(services)
    try:
        with log._condition:  # hold the writer back, so that all three share one batch
            good = log.submit(info.client, _access("开户"))
            bad = log.submit(ghost, _access("开户"))  # no such client: the row is refused
            other = log.submit(None, _access("公开"))
        assert good.result(timeout=30) is None and other.result(timeout=30) is None
        with pytest.raises(IntegrityError):
            bad.result(timeout=30)
    finally:
        log.close()
    assert sorted(e.actor for e in access_events(services)) == ["anonymous", "银行"]


def test_a_caller_returns_only_after_its_row_is_committed(services: Services) -> None:
    log = AccessLog(services)
    try:
        log(None, _access("核验"))
        [entry] = access_events(services)  # read through another connection
        assert entry.purpose == "核验"
    finally:
        log.close()


def test_coroutines_wait_for_their_rows_and_a_refused_row_raises_in_its_own(
    services: Services,
) -> None:
    import asyncio

    ghost = Client(999_999, "ghost", ClientRole.VERIFIER, None, None, (), None)
    log = AccessLog(services)

    async def main() -> list[object]:
        return await asyncio.gather(
            log.record(None, _access("甲")),
            log.record(ghost, _access("乙")),
            log.record(None, _access("丙")),
            return_exceptions=True,
        )

    try:
        first, refused, third = asyncio.run(main())
    finally:
        log.close()
    assert first is None and third is None and isinstance(refused, IntegrityError)
    assert sorted(e.purpose or "" for e in access_events(services)) == ["丙", "甲"]


def test_a_lone_row_is_committed_at_once_and_a_burst_shares_commits(services: Services) -> None:
    import time

    # A linger far longer than the test may take: if a lone row waited for it, this would fail.
    log = AccessLog(services, linger=30.0)
    try:
        started = time.monotonic()
        log(None, _access("单独"))
        assert time.monotonic() - started < 10.0
        assert not log.lingers()
    finally:
        log.close()

    log = AccessLog(services, linger=0.05, group=4)
    try:
        for _ in range(10):  # 20 rows a second: a commit each, no waiting
            log(None, _access("稀疏"))
            time.sleep(0.05)
        assert not log.lingers()
        waiting = [log.submit(None, _access("密集")) for _ in range(60)]
        assert log.lingers()  # rows now come far faster than 4 per 50 ms
        for future in waiting:
            future.result(timeout=30)
    finally:
        log.close()
    assert len(access_events(services, limit=200)) == 71
