"""Recording events: each event's row and log entry written as its transaction commits.

``record(session, event)`` keeps the event on the session; as the transaction
commits, its rows are flushed, then every event recorded in it is appended to
the transparency log in one ``append_many`` and writes its row with its index,
so that a change is never committed without its entry nor an entry without its
change. The append comes last: the log's counter is locked from the append to
the commit, and nothing else waits behind it meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from trustsvc.audit.events import Event, encode_entry
from trustsvc.audit.log import append_many
from trustsvc.tlog.merkle import leaf_hash

#: Where a session keeps the events recorded in its transaction until it commits.
_PENDING = "trustsvc.audit.events.pending"


def record(session: Session, event: Event) -> None:
    """Record ``event`` in ``session``'s transaction: its row and its entry are written as
    the transaction commits, so that both are kept, or neither (``_write_pending``).

    Not inside a SAVEPOINT: one rolled back alone would leave its events to be written.
    """
    if session.in_nested_transaction():
        raise RuntimeError("events are recorded in the outermost transaction only")
    session.info.setdefault(_PENDING, []).append(event)


def record_many(session: Session, events: Sequence[Event]) -> None:
    """``record`` for several events at once."""
    if session.in_nested_transaction():
        raise RuntimeError("events are recorded in the outermost transaction only")
    if events:
        session.info.setdefault(_PENDING, []).extend(events)


def write_now(session: Session, events: Sequence[Event]) -> list[int]:
    """Append the events' entries (one ``append_many``) and write their rows; the indexes.

    Run as the transaction commits: the log's counter is locked from the append to
    the commit, so the append comes last, and a transaction of many events (a change,
    the sweep's voids) appends them all at once.
    """
    if not events:
        return []
    bodies = [encode_entry(e.entry()) for e in events]
    indexes = append_many(session, bodies)
    for event, index, body in zip(events, indexes, bodies, strict=True):
        event.write(session, index, leaf_hash(body))
    return indexes


@sa_event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    pending: list[Event] | None = session.info.pop(_PENDING, None)
    if pending:
        # The rows the events concern first (their ids, their final state), then the log.
        session.flush()
        write_now(session, pending)


@sa_event.listens_for(Session, "after_rollback")
def _drop_pending(session: Session) -> None:
    session.info.pop(_PENDING, None)
