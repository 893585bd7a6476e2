"""Reading licenses as their issuer does: one view, many views, the document, the history,
a search; every status judged by the service's date (its time zone's, not UTC's).

Views of many records cost a fixed number of queries however many there are
(the departments come with the page, the superseded identifiers in one more).
``LicenseReader`` is given its collaborators; the issuing service is one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import LicenseEvent, LicenseRecord
from trustsvc.documents.store import DocumentStore
from trustsvc.errors import InvalidInputError
from trustsvc.licenses import library
from trustsvc.licenses.holders import mask_holder_id
from trustsvc.licenses.requests import LicenseEventView, LicenseHistory, LicenseView
from trustsvc.licenses.types import LicenseType
from trustsvc.pki.data_key import DataKey


class LicenseReader:
    """Licenses as their issuer sees them, from the library and the document store."""

    def __init__(
        self,
        database: Database,
        clock: Clock,
        zone: tzinfo,
        types: Mapping[str, LicenseType],
        data_key: DataKey,
        store: DocumentStore,
    ) -> None:
        self.database = database
        self.clock = clock
        self.zone = zone
        self.types = dict(types)
        self.data_key = data_key
        self.store = store

    def today(self) -> date:
        """The service's date now (its time zone's, not UTC's)."""
        return self.date_at(self.clock.now())

    def date_at(self, moment: datetime) -> date:
        return moment.astimezone(self.zone).date()

    def view(
        self,
        record: LicenseRecord,
        *,
        issuer_name: str | None = None,
        holder_id: str | None = None,
        session: Session | None = None,
    ) -> LicenseView:
        """The record as its issuer sees it; facts the caller already holds are not re-read.

        Give the ``session`` the record was read in: the identifier it supersedes
        is read there rather than in a unit of work of its own.
        """
        supersedes = None
        if record.supersedes_id is not None:
            if session is None:
                with self.database.begin() as own:
                    supersedes = library.identifiers_of(own, [record.supersedes_id]).get(
                        record.supersedes_id
                    )
            else:
                supersedes = library.identifiers_of(session, [record.supersedes_id]).get(
                    record.supersedes_id
                )
        return self.view_as_of(record, self.today(), supersedes, issuer_name, holder_id)

    def views(self, session: Session, records: Sequence[LicenseRecord]) -> list[LicenseView]:
        """Views of many records in a fixed number of queries, however many there are.

        Their departments must be loaded with them (``library.search`` does); the
        identifiers they supersede are read in one query.
        """
        superseded = library.identifiers_of(
            session, (r.supersedes_id for r in records if r.supersedes_id is not None)
        )
        today = self.today()
        return [
            self.view_as_of(
                r,
                today,
                superseded.get(r.supersedes_id) if r.supersedes_id is not None else None,
            )
            for r in records
        ]

    def view_as_of(
        self,
        record: LicenseRecord,
        today: date,
        supersedes: str | None,
        issuer_name: str | None = None,
        holder_id: str | None = None,
    ) -> LicenseView:
        """The view with every fact given: its status on ``today``, what it ``supersedes``."""
        license_type = self.types.get(record.type_key)
        if holder_id is None:
            holder_id = self.data_key.open(record.holder_id_type, record.holder_id_sealed)
        return LicenseView(
            identifier=record.identifier,
            license_number=record.license_number,
            version=record.version,
            type_key=record.type_key,
            type_name=license_type.name_zh if license_type else record.type_key,
            issuer_code=record.issuer_code,
            issuer_name=issuer_name or record.department.name,
            holder_name=record.holder_name,
            holder_id_type=record.holder_id_type,
            holder_id_masked=mask_holder_id(record.holder_id_type, holder_id),
            fields=library.field_values(record),
            valid_from=record.valid_from,
            valid_until=record.valid_until,
            issued_at=record.issued_at,
            status=library.effective_status(record, today).value,
            status_reason=record.status_reason,
            sha256=record.sha256,
            supersedes=supersedes,
            revocation_kind=record.revocation_kind,
        )

    def show(self, key: str, department_code: str | None = None) -> LicenseView:
        """A license by identifier or printed number (see ``library.resolve``)."""
        with self.database.begin() as session:
            return self.view(library.resolve(session, key, department_code), session=session)

    def document(self, key: str, department_code: str | None = None) -> bytes:
        with self.database.begin() as session:
            sha256 = library.resolve(session, key, department_code).sha256
        return self.store.get(sha256)

    def history(self, key: str, department_code: str | None = None) -> LicenseHistory:
        """Every lifecycle event of the license ``key`` names, across its versions."""
        with self.database.begin() as session:
            record = library.resolve(session, key, department_code)
            versions = library.versions_of(session, record)
            by_id = {v.id: v for v in versions}
            events = session.scalars(
                select(LicenseEvent)
                .where(LicenseEvent.license_id.in_(list(by_id)))
                .order_by(LicenseEvent.at, LicenseEvent.id)
            ).all()
            newest = versions[-1]
            return LicenseHistory(
                identifier=newest.identifier,
                license_number=newest.license_number,
                issuer_code=newest.issuer_code,
                events=tuple(
                    LicenseEventView(
                        identifier=by_id[e.license_id].identifier,
                        version=by_id[e.license_id].version,
                        action=e.action,
                        actor=e.actor,
                        reason=e.reason,
                        from_status=e.from_status,
                        to_status=e.to_status,
                        at=e.at,
                    )
                    for e in events
                ),
            )

    def identifier_of(self, key: str, department_code: str | None = None) -> str:
        """The identifier ``key`` (an identifier or a printed number) names."""
        with self.database.begin() as session:
            return library.resolve(session, key, department_code).identifier

    def search(
        self,
        query: library.LicenseQuery,
        holder_id: str | None = None,
        holder_id_type: str | None = None,
    ) -> list[LicenseView]:
        if holder_id is not None:
            if holder_id_type is None:
                raise InvalidInputError("searching by holder ID needs the holder ID type too")
            # Every other condition is kept (the status a relying party sees, the types).
            query = dataclasses.replace(
                query,
                holder_id_digest=self.data_key.digest(holder_id_type, holder_id.strip().upper()),
            )
        with self.database.begin() as session:
            return self.views(session, library.search(session, query))


__all__ = ["LicenseReader"]
