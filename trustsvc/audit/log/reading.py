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
from trustsvc.tlog.merkle import prove_record, prove_tree, stored_hash_index

#: Hashes in a full tile, entries in a full bundle (C2SP tlog-tiles: height 8).
TILE_WIDTH = 256
TILE_HEIGHT = 8


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


def _width(available: int, index: int, width: int | None) -> int:
    """The width of tile ``index`` asked for, or NotFoundError if the tree has not got it."""
    have = min(available - index * TILE_WIDTH, TILE_WIDTH)
    wanted = TILE_WIDTH if width is None else width
    if have < 1 or wanted > have:
        raise NotFoundError("the log's tree does not have that tile yet")
    return wanted


def tile(database: Database, level: int, index: int, width: int | None = None) -> bytes:
    """Hash tile ``level``/``index`` (``width`` hashes of a partial tile; None: full)."""
    with database.begin() as session:
        size = read_head(session).size
        merkle_level = level * TILE_HEIGHT
        if merkle_level >= size.bit_length():
            raise NotFoundError("the log's tree does not have that tile yet")
        count = _width(size >> merkle_level, index, width)
        first = index * TILE_WIDTH
        indexes = [stored_hash_index(merkle_level, first + i) for i in range(count)]
        return b"".join(DatabaseHashes(session).read_hashes(indexes))


def entry_bundle(database: Database, index: int, width: int | None = None) -> bytes:
    """Entry bundle ``index``: its entries, each prefixed by a two-byte big-endian length."""
    with database.begin() as session:
        count = _width(read_head(session).size, index, width)
        first = index * TILE_WIDTH
        bodies = session.scalars(
            select(LogEntry.body)
            .where(LogEntry.idx >= first, LogEntry.idx < first + count)
            .order_by(LogEntry.idx)
        ).all()
    if len(bodies) != count:
        raise NotFoundError("the log's entries for that bundle are missing")
    return b"".join(len(body).to_bytes(2, "big") + bytes(body) for body in bodies)
