"""Where sealed documents are kept: content-addressed by their SHA-256.

``put`` is idempotent (the same bytes land at the same key) and atomic (a
reader sees the whole document or nothing), so a crashed issuance can at most
leave an unreferenced document behind, never a broken one; ``sweep`` removes
those once they are older than any issuing transaction can be. The folder
store suits one node; the database store lets several nodes share one library.

A folder store writes each document to a temporary file, fsyncs it, renames it
into place and fsyncs the folder, so that a record committed after ``put``
never points at a file a power failure lost (POSIX leaves the rename itself
in the folder's buffers until the folder is synced). Its files are the
owner's alone (0600, folders 0700): they carry holder names. A full disk or a
store that cannot be written is a ``DocumentStoreFullError`` (507) or a
``DocumentStoreUnavailableError`` (503), never a half-written file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import secrets
import threading
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import delete, exists, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, OperationalError

from trustsvc.db import Database
from trustsvc.db.models import LicenseRecord, StoredDocument
from trustsvc.errors import (
    DocumentStoreFullError,
    DocumentStoreUnavailableError,
    NotFoundError,
    TrustServiceError,
)

_FILE_MODE = 0o600
_DIRECTORY_MODE = 0o700
#: A temporary file this old belongs to a write that died (a write takes milliseconds).
TEMPORARY_GRACE = timedelta(minutes=10)
#: How long a readiness probe's answer is reused, so that ``/readyz`` stays cheap.
PROBE_SECONDS = 5.0
#: Digests checked against the library per query while sweeping.
_SWEEP_CHUNK = 500
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


@dataclass(frozen=True)
class SweepReport:
    #: Documents older than the grace period that no license refers to, removed.
    documents_removed: int
    #: Temporary files of writes that died, removed.
    temporaries_removed: int


#: Which of the given digests some license record refers to.
ReferencedDigests = Callable[[Collection[str]], set[str]]


class DocumentStore(Protocol):
    def put(self, content: bytes, now: datetime) -> str:
        """Store ``content``; return its SHA-256 (hex), which is its key."""
        ...

    def get(self, sha256: str) -> bytes:
        """The document stored under ``sha256``; NotFoundError if none."""
        ...

    def delete(self, sha256: str) -> None:
        """Remove the document stored under ``sha256``, if there is one."""
        ...

    def probe(self) -> None:
        """Raise DocumentStoreFullError or DocumentStoreUnavailableError if it cannot be written."""
        ...

    def sweep(self, stored_before: datetime, referenced: ReferencedDigests) -> SweepReport:
        """Remove documents stored before ``stored_before`` that no license refers to."""
        ...


def _checked_key(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise NotFoundError("no document with that digest")
    return sha256


def store_error(exc: OSError) -> TrustServiceError:
    """The error an OS-level write failure of the store is reported as."""
    if exc.errno in _FULL:
        return DocumentStoreFullError(
            "the document store is full (no space left); no license was issued"
        )
    reason = os.strerror(exc.errno) if exc.errno is not None else type(exc).__name__
    return DocumentStoreUnavailableError(
        f"the document store cannot be written ({reason}); no license was issued"
    )


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_synced(path: Path, content: bytes) -> None:
    """Write ``path`` (a new file, 0600) and fsync it; a partial file is removed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            path.unlink()
        raise


class _ProbeCache:
    """The last probe's answer, for a few seconds."""

    def __init__(self, probe: Callable[[], None]) -> None:
        self._probe = probe
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._error: TrustServiceError | None = None

    def check(self) -> None:
        with self._lock:
            if time.monotonic() - self._checked_at >= PROBE_SECONDS:
                try:
                    self._probe()
                    self._error = None
                except TrustServiceError as exc:
                    self._error = exc
                self._checked_at = time.monotonic()
            error = self._error
        if error is not None:
            raise error


class FolderDocumentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._probe = _ProbeCache(self._write_probe)

    def _path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / f"{sha256}.pdf"

    def _make_folder(self, folder: Path) -> None:
        for level in (self.directory, folder):
            if not level.is_dir():
                level.parent.mkdir(parents=True, exist_ok=True)
                with contextlib.suppress(FileExistsError):
                    level.mkdir(mode=_DIRECTORY_MODE)

    def put(self, content: bytes, now: datetime) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self._path(sha256)
        # The file's time is when it was stored (the sweep's measure of age); it is
        # the service clock's, like the database store's ``stored_at``.
        stamp = now.timestamp()
        try:
            if path.exists():
                # Stored again: young again, so the sweep leaves it to the record coming.
                os.utime(path, (stamp, stamp))
                return sha256
            self._make_folder(path.parent)
            temporary = path.with_name(f".{sha256}.{secrets.token_hex(4)}.tmp")
            _write_synced(temporary, content)
            try:
                os.utime(temporary, (stamp, stamp))
                temporary.replace(path)
            except BaseException:
                with contextlib.suppress(OSError):
                    temporary.unlink()
                raise
            _fsync_directory(path.parent)
        except OSError as exc:
            raise store_error(exc) from exc
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self._path(_checked_key(sha256)).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("no document with that digest") from None

    def delete(self, sha256: str) -> None:
        path = self._path(_checked_key(sha256))
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise store_error(exc) from exc

    def _write_probe(self) -> None:
        probe = self.directory / f".probe-{os.getpid()}-{secrets.token_hex(4)}.tmp"
        try:
            self._make_folder(self.directory)
            _write_synced(probe, b"trustsvc store probe\n")
            probe.unlink()
        except OSError as exc:
            with contextlib.suppress(OSError):
                probe.unlink()
            raise store_error(exc) from exc

    def probe(self) -> None:
        self._probe.check()

    def remove_stale_temporaries(self) -> int:
        """Remove the temporary files of writes that died (older than ``TEMPORARY_GRACE``)."""
        if not self.directory.is_dir():
            return 0
        cutoff = time.time() - TEMPORARY_GRACE.total_seconds()
        removed = 0
        for temporary in (*self.directory.glob(".*.tmp"), *self.directory.glob("*/.*.tmp")):
            with contextlib.suppress(FileNotFoundError):
                if temporary.stat().st_mtime < cutoff:
                    temporary.unlink()
                    removed += 1
        return removed

    def _stored_before(self, cutoff: float) -> Iterator[str]:
        for path in self.directory.glob("[0-9a-f][0-9a-f]/*.pdf"):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff and len(path.stem) == 64:
                    yield path.stem

    def sweep(self, stored_before: datetime, referenced: ReferencedDigests) -> SweepReport:
        temporaries = self.remove_stale_temporaries()
        if not self.directory.is_dir():
            return SweepReport(0, temporaries)
        cutoff = stored_before.timestamp()
        removed = 0
        candidates = list(self._stored_before(cutoff))
        for start in range(0, len(candidates), _SWEEP_CHUNK):
            chunk = candidates[start : start + _SWEEP_CHUNK]
            kept = referenced(chunk)
            for sha256 in chunk:
                path = self._path(sha256)
                if sha256 in kept:
                    continue
                with contextlib.suppress(FileNotFoundError):
                    # Stored again since it was listed: an issuance is about to record it.
                    if path.stat().st_mtime >= cutoff:
                        continue
                    path.unlink()
                    removed += 1
        return SweepReport(removed, temporaries)


def _database_error(exc: DBAPIError) -> TrustServiceError | None:
    """A full or read-only database, as the store's own error; None for anything else."""
    original = exc.orig
    sqlstate = getattr(original, "sqlstate", None) or getattr(original, "pgcode", None)
    text = str(original).lower()
    if sqlstate == "53100" or "database or disk is full" in text:
        return DocumentStoreFullError(
            "the document store (database) is full; no license was issued"
        )
    if sqlstate in ("25006", "53200", "53300") or "readonly database" in text:
        return DocumentStoreUnavailableError(
            "the document store (database) cannot be written; no license was issued"
        )
    return None


class DatabaseDocumentStore:
    def __init__(self, database: Database) -> None:
        self.database = database
        self._probe = _ProbeCache(self._write_probe)

    def put(self, content: bytes, now: datetime) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        values = {"sha256": sha256, "content": content, "stored_at": now}
        try:
            with self.database.begin() as session:
                insert = (
                    pg_insert
                    if session.bind is not None and session.bind.dialect.name == "postgresql"
                    else sqlite_insert
                )
                # Stored again: young again, so the sweep leaves it to the record coming.
                session.execute(
                    insert(StoredDocument)
                    .values(**values)
                    .on_conflict_do_update(
                        index_elements=[StoredDocument.sha256],
                        set_={"stored_at": now},
                        where=StoredDocument.stored_at < now,
                    )
                )
        except DBAPIError as exc:
            error = _database_error(exc)
            if error is None:
                raise
            raise error from exc
        return sha256

    def get(self, sha256: str) -> bytes:
        with self.database.begin() as session:
            content = session.scalar(
                select(StoredDocument.content).where(StoredDocument.sha256 == _checked_key(sha256))
            )
        if content is None:
            raise NotFoundError("no document with that digest")
        return content

    def delete(self, sha256: str) -> None:
        with self.database.begin() as session:
            session.execute(delete(StoredDocument).where(StoredDocument.sha256 == sha256))

    def _write_probe(self) -> None:
        """A row written and rolled back: the database takes writes."""
        probe = f"probe-{secrets.token_hex(29)}"
        try:
            with self.database.sessions() as session:
                session.add(StoredDocument(sha256=probe, content=b"", stored_at=_EPOCH))
                session.flush()
                session.rollback()
        except OperationalError as exc:
            raise _database_error(exc) or DocumentStoreUnavailableError(
                "the document store (database) cannot be written"
            ) from exc
        except DBAPIError as exc:
            error = _database_error(exc)
            if error is None:
                raise
            raise error from exc

    def probe(self) -> None:
        self._probe.check()

    def sweep(self, stored_before: datetime, referenced: ReferencedDigests) -> SweepReport:
        # One statement: a document is removed only if, when it is removed, it is
        # still old and no license refers to it.
        with self.database.begin() as session:
            result = session.execute(
                delete(StoredDocument).where(
                    StoredDocument.stored_at < stored_before,
                    ~exists().where(LicenseRecord.sha256 == StoredDocument.sha256),
                )
            )
        return SweepReport(int(getattr(result, "rowcount", 0) or 0), 0)


_EPOCH = datetime.fromtimestamp(0, UTC)
