"""The Merkle tree's stored hashes in the database, read as a ``tlog.merkle.HashReader``."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.db.models import LogHash
from trustsvc.tlog.errors import ProofError
from trustsvc.tlog.merkle import HashReader

#: Indices asked in one query (well under every driver's parameter limit).
_CHUNK = 500


class DatabaseHashes:
    """Stored hashes read from log_hashes in ``session``; a missing one is a ``ProofError``."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def read_hashes(self, indexes: Sequence[int]) -> list[bytes]:
        wanted = sorted(set(indexes))
        found: dict[int, bytes] = {}
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            rows = self._session.execute(
                select(LogHash.idx, LogHash.hash).where(LogHash.idx.in_(chunk))
            )
            found.update((int(idx), bytes(value)) for idx, value in rows)
        missing = [i for i in wanted if i not in found]
        if missing:
            raise ProofError(f"stored hash {missing[0]} is not in the log yet")
        return [found[i] for i in indexes]


def reader(session: Session) -> HashReader:
    """A ``HashReader`` over the log's stored hashes, in ``session``."""
    return DatabaseHashes(session)
