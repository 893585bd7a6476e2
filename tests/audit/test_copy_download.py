"""A copy handed out (加注件, sealed report) is one access row and one copy.download entry,
written in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from trustsvc.audit.access_record import Access, AccessAction, AccessWriter, CopyKind, Outcome
from trustsvc.audit.events import decode_entry
from trustsvc.db.models import AccessEvent, LogEntry
from trustsvc.services import Services
from trustsvc.sharing.clients import Client, add_client

AT = datetime(2026, 12, 2, 1, 0, tzinfo=UTC)


def _clerk(services: Services) -> Client:
    info, _key = add_client(services, "staff:clerk-1", "admin")
    return info.client


def _kinds(services: Services) -> list[tuple[int, dict[str, object]]]:
    with services.database.begin() as session:
        rows = session.execute(select(LogEntry.idx, LogEntry.body).order_by(LogEntry.idx)).all()
    return [(int(i), decode_entry(bytes(b))) for i, b in rows]


def _copy(kind: CopyKind, identifier: str = "L-1") -> Access:
    return Access(
        AccessAction.ANNOTATED_COPY
        if kind is CopyKind.ANNOTATED_COPY
        else AccessAction.VERIFICATION_REPORT,
        Outcome.ANSWERED,
        purpose="开立对公账户",
        returned=[identifier],
        license_identifier=identifier,
        copy=kind,
    )


def test_a_download_appends_exactly_one_copy_entry_naming_its_access_row(
    services: Services,
) -> None:
    clerk = _clerk(services)
    before = len(_kinds(services))
    AccessWriter(services.database.engine).write(
        [
            (AT, clerk, Access(AccessAction.LOOKUP, Outcome.ANSWERED, purpose="核验")),
            (AT, clerk, _copy(CopyKind.ANNOTATED_COPY)),
            (AT, clerk, _copy(CopyKind.VERIFICATION_REPORT, "L-2")),
        ]
    )
    added = _kinds(services)[before:]
    assert [entry["kind"] for _, entry in added] == [
        "access",
        "access",
        "access",
        "copy.download",
        "copy.download",
    ]
    with services.database.begin() as session:
        rows = {
            row.action: row.log_index
            for row in session.scalars(select(AccessEvent).order_by(AccessEvent.id))
        }
    copies = [entry for _, entry in added if entry["kind"] == "copy.download"]
    assert [c["details"] for c in copies] == [
        {"copy": "annotated_copy", "purpose": "开立对公账户", "access": rows["annotated_copy"]},
        {
            "copy": "verification_report",
            "purpose": "开立对公账户",
            "access": rows["verification_report"],
        },
    ]
    assert [c["license"] for c in copies] == ["L-1", "L-2"]
    assert copies[0]["actor"] == {"k": "client", "n": "staff:clerk-1"}


def test_the_copy_entry_and_its_access_row_commit_together(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    clerk = _clerk(services)
    writer = AccessWriter(services.database.engine)
    before = len(_kinds(services))

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("the access row was refused")

    monkeypatch.setattr(writer._insert, "execute_many", refuse)
    with pytest.raises(RuntimeError, match="refused"):
        writer.write([(AT, clerk, _copy(CopyKind.ANNOTATED_COPY))])
    assert len(_kinds(services)) == before
    with services.database.begin() as session:
        assert session.scalar(select(func.count()).select_from(AccessEvent)) == 0
