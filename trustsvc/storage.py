"""Where sealed documents are kept: content-addressed by their SHA-256.

``put`` is idempotent (the same bytes land at the same key) and atomic (a
reader sees the whole document or nothing), so a crashed issuance can at most
leave an unreferenced document behind, never a broken one. The folder store
suits one node; the database store lets several nodes share one library.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from trustsvc.db import Database
from trustsvc.db.models import StoredDocument
from trustsvc.errors import NotFoundError


class DocumentStore(Protocol):
    def put(self, content: bytes, now: datetime) -> str:
        """Store ``content``; return its SHA-256 (hex), which is its key."""
        ...

    def get(self, sha256: str) -> bytes:
        """The document stored under ``sha256``; NotFoundError if none."""
        ...


def _checked_key(sha256: str) -> str:
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        raise NotFoundError("no document with that digest")
    return sha256


class FolderDocumentStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, sha256: str) -> Path:
        return self.directory / sha256[:2] / f"{sha256}.pdf"

    def put(self, content: bytes, now: datetime) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        path = self._path(sha256)
        if path.exists():
            return sha256
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{sha256}.{secrets.token_hex(4)}.tmp")
        with temporary.open("wb") as handle:
            handle.write(content)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(path)
        return sha256

    def get(self, sha256: str) -> bytes:
        try:
            return self._path(_checked_key(sha256)).read_bytes()
        except FileNotFoundError:
            raise NotFoundError("no document with that digest") from None


class DatabaseDocumentStore:
    def __init__(self, database: Database) -> None:
        self.database = database

    def put(self, content: bytes, now: datetime) -> str:
        sha256 = hashlib.sha256(content).hexdigest()
        values = {"sha256": sha256, "content": content, "stored_at": now}
        with self.database.begin() as session:
            insert = (
                pg_insert
                if session.bind is not None and session.bind.dialect.name == "postgresql"
                else sqlite_insert
            )
            session.execute(insert(StoredDocument).values(**values).on_conflict_do_nothing())
        return sha256

    def get(self, sha256: str) -> bytes:
        with self.database.begin() as session:
            content = session.scalar(
                select(StoredDocument.content).where(StoredDocument.sha256 == _checked_key(sha256))
            )
        if content is None:
            raise NotFoundError("no document with that digest")
        return content
