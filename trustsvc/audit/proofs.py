"""A license's proof: its latest entry bundled as a C2SP tlog-proof — its index, its
inclusion proof in the published checkpoint's tree, the checkpoint (signed, cosigned)
and, as the proof's extra data, the entry itself. Anyone holding the log's public key
checks it offline (``trustsvc ledger check-proof``)."""

from __future__ import annotations

from sqlalchemy import select

from trustsvc.audit.log.reading import inclusion_proof, latest_checkpoint
from trustsvc.db import Database
from trustsvc.db.models import LicenseRecord, LogEntry
from trustsvc.errors import ConflictError, NotFoundError
from trustsvc.tlog.proof import LogProof


def license_proof(database: Database, identifier: str) -> bytes:
    """The C2SP tlog-proof of the license's latest entry in the published checkpoint.

    ``NotFoundError`` for an unknown license or one with no entry (recorded before
    the log); ``ConflictError`` while its entry is not yet in a published checkpoint.
    """
    with database.begin() as session:
        row = session.execute(
            select(LicenseRecord.log_index, LogEntry.body)
            .outerjoin(LogEntry, LogEntry.idx == LicenseRecord.log_index)
            .where(LicenseRecord.identifier == identifier.strip().upper())
        ).first()
    if row is None:
        raise NotFoundError(f"no license with identifier {identifier}")
    if row.log_index is None or row.body is None:
        raise NotFoundError(f"license {identifier} has no entry in the log")
    published = latest_checkpoint(database)
    if published is None or row.log_index >= published.size:
        raise ConflictError(
            f"the latest entry of license {identifier} is not yet in a published checkpoint; "
            "ask again in a moment"
        )
    hashes = inclusion_proof(database, int(row.log_index), published.size)
    return LogProof(
        index=int(row.log_index),
        hashes=tuple(hashes),
        checkpoint=published.note.encode("utf-8"),
        extra=bytes(row.body),
    ).encode()


__all__ = ["license_proof"]
