"""Removing sealed documents no license was recorded for, and dead temporary files.

An issuance stores its document before it records the license (see
``licenses.service``), so a crash, a refusal or a lost idempotency race in
between leaves a document no record refers to. The losing paths remove their
own document at once; what a crash leaves, the sweep removes. It never
touches a document younger than the grace period, which is longer than any
issuing transaction, and removes a document only if, at that moment, it is
still old and unreferenced; so any number of processes and nodes may sweep at
once (``trustsvc store sweep``, and every serving process on a schedule).
The same sweep voids the license numbers such a crash left reserved (see
``numbers.void_abandoned``), with the same grace period.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Collection
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from trustsvc.clock import Clock
from trustsvc.db import Database
from trustsvc.db.models import LicenseRecord
from trustsvc.documents.store import DocumentStore, SweepReport, store_error
from trustsvc.errors import TrustServiceError
from trustsvc.licenses.numbers import void_abandoned

log = logging.getLogger("trustsvc.sweep")


def sweep_documents(
    store: DocumentStore, database: Database, clock: Clock, grace: timedelta
) -> SweepReport:
    """Remove the documents stored more than ``grace`` ago that no license refers to."""

    def referenced(digests: Collection[str]) -> set[str]:
        with database.begin() as session:
            return set(
                session.scalars(
                    select(LicenseRecord.sha256).where(LicenseRecord.sha256.in_(list(digests)))
                )
            )

    try:
        return store.sweep(clock.now() - grace, referenced)
    except OSError as exc:
        raise store_error(exc) from exc


class StoreSweeper:
    """A background thread that sweeps at start and then every ``interval`` (if positive)."""

    def __init__(
        self,
        store: DocumentStore,
        database: Database,
        clock: Clock,
        grace: timedelta,
        interval: timedelta,
    ) -> None:
        self.store = store
        self.database = database
        self.clock = clock
        self.grace = grace
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="trustsvc-sweep", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                report = sweep_documents(self.store, self.database, self.clock, self.grace)
                if report.documents_removed or report.temporaries_removed:
                    log.info(
                        "store sweep removed %d unrecorded document(s), %d temporary file(s)",
                        report.documents_removed,
                        report.temporaries_removed,
                    )
                void_abandoned(self.database, self.clock, self.grace)
            except (TrustServiceError, OSError, SQLAlchemyError) as exc:
                log.warning("store sweep failed: %s", exc)
            except Exception:  # the thread must outlive one failed sweep; the next one retries
                log.exception("store sweep failed")
            if self.interval <= timedelta(0):
                return
            self._stop.wait(self.interval.total_seconds())
