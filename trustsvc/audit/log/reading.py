"""Reading the log back: entries, proofs, the published checkpoint, and C2SP tlog-tiles.

The public reading API the rest of the service (the library's binding, ``ledger
verify``, the routes) uses; nothing here writes. Tiles follow C2SP tlog-tiles:
a tile at level L holds up to 256 hashes of Merkle level 8·L, an entry bundle
up to 256 entries, each as a two-byte big-endian length and its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trustsvc.audit.log.hashes import DatabaseHashes
from trustsvc.audit.log.integration import TreeHead, read_head
from trustsvc.db import Database
from trustsvc.db.models import LogEntry, LogHead
from trustsvc.errors import NotFoundError
from trustsvc.tlog.errors import FormatError
from trustsvc.tlog.merkle import prove_record, prove_tree
from trustsvc.tlog.tiles import Tile, entry_bundle, read_tile, tile_for


@dataclass(frozen=True)
class Checkpoint:
    """The published checkpoint: its tree size and the signed note, cosignatures included."""

    size: int
    note: str


def entry(database: Database, idx: int) -> bytes:
    """The bytes of entry ``idx`` (sequenced, and so committed; integrated or not yet)."""
    with database.begin() as session:
        body = session.scalar(select(LogEntry.body).where(LogEntry.idx == idx))
    if body is None:
        raise NotFoundError(f"the log has no entry {idx}")
    return bytes(body)


def head(database: Database) -> TreeHead:
    """The integrated tree: size and root."""
    with database.begin() as session:
        return read_head(session)


def _tree_size(session: Session, size: int | None) -> int:
    integrated = read_head(session).size
    if size is None:
        return integrated
    if not 1 <= size <= integrated:
        raise NotFoundError(f"the log's tree has {integrated} entries, not {size}")
    return size


def inclusion_proof(database: Database, idx: int, size: int | None = None) -> list[bytes]:
    """RFC 9162 inclusion proof of entry ``idx`` in the tree of ``size`` (default: integrated)."""
    with database.begin() as session:
        t = _tree_size(session, size)
        if not 0 <= idx < t:
            raise NotFoundError(f"entry {idx} is not in the log's tree of {t} entries")
        return prove_record(t, idx, DatabaseHashes(session))


def consistency_proof(database: Database, old: int, new: int | None = None) -> list[bytes]:
    """RFC 9162 consistency proof from the tree of ``old`` entries to that of ``new``."""
    with database.begin() as session:
        t = _tree_size(session, new)
        if not 1 <= old <= t:
            raise NotFoundError(f"no tree of {old} entries within the log's {t}")
        return prove_tree(t, old, DatabaseHashes(session))


def latest_checkpoint(database: Database) -> Checkpoint | None:
    """The checkpoint last published (signed and cosigned as the policy asks), if any."""
    with database.begin() as session:
        row = session.execute(
            select(LogHead.checkpoint_size, LogHead.checkpoint).where(LogHead.id == 1)
        ).one()
    if row.checkpoint is None:
        return None
    return Checkpoint(int(row.checkpoint_size), row.checkpoint)


def tile(database: Database, wanted: Tile) -> bytes:
    """A hash tile or entry bundle, if the integrated tree has it (full, or at least as wide).

    A partial tile of any width up to the tree's is served: its bytes are those of
    the tree of that many entries, which never change.
    """
    with database.begin() as session:
        size = read_head(session).size
        try:
            have = tile_for(wanted.level, wanted.index, size)
        except FormatError as exc:
            raise NotFoundError("the log's tree does not have that tile yet") from exc
        if wanted.width > have.width:
            raise NotFoundError("the log's tree does not have that tile yet")
        if wanted.level is not None:
            return read_tile(wanted, DatabaseHashes(session))
        first = wanted.first_leaf()
        bodies = session.scalars(
            select(LogEntry.body)
            .where(LogEntry.idx >= first, LogEntry.idx < first + wanted.width)
            .order_by(LogEntry.idx)
        ).all()
    if len(bodies) != wanted.width:
        raise NotFoundError("the log's entries for that bundle are missing")
    return entry_bundle([bytes(body) for body in bodies])
