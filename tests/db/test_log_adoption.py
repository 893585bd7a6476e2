"""Migration 0020: a library recorded before the log is adopted into it, and bound from then on."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, update

from tests.helpers import DEPARTMENT_A, enterprise_holder
from tests.licenses.pdf_checks import read_qr_codes
from trustsvc.audit.access_record import Access, AccessAction, AccessWriter, Outcome
from trustsvc.audit.ledger import LedgerKeys, verify_ledger
from trustsvc.audit.log.integration import integrate_all
from trustsvc.bootstrap import build_log_key, build_log_publisher, build_verifier
from trustsvc.db import MIGRATIONS
from trustsvc.db.models import LicenseRecord, LogEntry
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.library import Action
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.verification.report import Verdict


def test_rows_from_before_the_log_are_adopted_by_the_migration(
    services: Services, licenses: IssuingService
) -> None:
    services = services
    data = dict(example_data(get_type(licenses.types, "business-license")))
    first = licenses.issue(
        IssueRequest(DEPARTMENT_A, "business-license", {**data, **enterprise_holder()})
    ).license
    licenses.transition(first.identifier, Action.SUSPEND, "api:desk", "review")
    second = licenses.issue(
        IssueRequest(DEPARTMENT_A, "business-license", {**data, **enterprise_holder()})
    ).license
    [link] = read_qr_codes(licenses.document(second.identifier))
    AccessWriter(services.database.engine).write(
        [(datetime(2026, 12, 2, tzinfo=UTC), None, Access(AccessAction.LOOKUP, Outcome.REFUSED))]
    )
    # Back to before the log (its tables and the binding columns gone), and up again.
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with services.database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0017")
    with services.database.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    database = services.database
    with database.begin() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(LicenseRecord)
                .where(LicenseRecord.log_index.is_(None))
            )
            == 0
        )
        adopted = session.scalar(select(func.count()).select_from(LogEntry)) or 0
    assert adopted > 4
    integrate_all(database, services.clock)
    assert build_log_publisher(services).publish() is not None
    keys = LedgerKeys(build_log_key(services.settings).verifier)
    report = verify_ledger(database, keys)
    assert report.ok, report.problems
    verifier = build_verifier(services, allow_fetching=False)
    assert verifier.verify_token(link.rsplit("/v/", 1)[1]).verdict is Verdict.VALID
    assert verifier.status_of(first.identifier).verdict is Verdict.NOT_CURRENT
    # From the upgrade on, an edit is found.
    with database.begin() as session:
        session.execute(
            update(LicenseRecord)
            .where(LicenseRecord.identifier == first.identifier)
            .values(status="valid")
        )
    assert verifier.status_of(first.identifier).verdict is Verdict.NOT_EVALUABLE
    assert not verify_ledger(database, keys).ok
