"""Database engines, units of work and schema migrations.

``open_database`` is the one way in: it creates the engine for the configured
URL (SQLite by default, PostgreSQL via ``postgresql+psycopg://``), applies the
Alembic migrations up to head, and returns a ``Database`` whose ``begin()``
is one unit of work: everything inside commits together or not at all.
``Context`` is what the low layers ask for: a database and a clock.

May import: ``settings``, ``errors`` and ``clock`` only.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, event, make_url, text
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from trustsvc.db.write_lock import WriteLock, write_lock_for
from trustsvc.errors import ConfigurationError

if TYPE_CHECKING:
    from trustsvc.clock import Clock

MIGRATIONS = Path(__file__).parent / "migrations"
#: Arbitrary constant key for the PostgreSQL advisory lock taken while migrating,
#: so that several service nodes starting at once do not race.
_MIGRATION_LOCK_KEY = 0x7472757374737663
#: Connections kept open per process: as many as the server's worker threads (40) may
#: use at once, so that a busy node does not open and close a connection per request.
_POOL_SIZE = 40


@dataclass(frozen=True)
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    #: Taken by the frequent background writers (see ``write_lock``).
    write_lock: WriteLock = field(default_factory=lambda: WriteLock(None))

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessions.begin() as session:
            yield session

    @contextmanager
    def writing(self) -> Iterator[Session]:
        """``begin()`` under the node's write lock: for writers that run many times a second."""
        with self.write_lock.held(), self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()
        self.write_lock.close()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


#: A SQLite database holds holder names and sealed ID numbers: its owner's alone.
_SQLITE_FILE_MODE = 0o600


def _make_sqlite_file_private(url: str) -> None:
    """Create the SQLite file 0600 before SQLite does (it would make it 0644), or tighten it.

    SQLite gives its -wal, -shm and -journal files the database file's mode
    when it creates them; ones left from an older, laxer start are tightened too.
    """
    try:
        database = make_url(url).database
    except ArgumentError:
        return
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    try:
        if not path.exists() and path.parent.is_dir():
            with contextlib.suppress(FileExistsError):
                os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _SQLITE_FILE_MODE))
        for companion in (path, *(path.with_name(path.name + s) for s in _SQLITE_COMPANIONS)):
            if companion.exists() and companion.stat().st_mode & 0o077:
                companion.chmod(_SQLITE_FILE_MODE)
    except OSError as exc:
        raise ConfigurationError(f"the SQLite database file {path} is not usable: {exc}") from exc


_SQLITE_COMPANIONS = ("-wal", "-shm", "-journal")


def create_database_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
            _make_sqlite_file_private(url)
            engine = create_engine(
                url, connect_args={"timeout": 10}, pool_size=_POOL_SIZE, max_overflow=_POOL_SIZE
            )
            event.listen(engine, "connect", _sqlite_pragmas)
        else:
            engine = create_engine(
                url, pool_pre_ping=True, pool_size=_POOL_SIZE, max_overflow=_POOL_SIZE
            )
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        raise ConfigurationError(f"database URL is not usable: {exc}") from exc
    return engine


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@functools.cache
def _head_revision() -> str | None:
    """The newest revision, read from the migration scripts once per process."""
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = _alembic_config()
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            # At the newest revision already (every start but the first): nothing to run,
            # and no need to load every migration script again to find that out.
            if MigrationContext.configure(connection).get_current_revision() == _head_revision():
                return
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        reason = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()[0]
        raise ConfigurationError(f"database is not reachable or not migratable: {reason}") from exc


class Context(Protocol):
    """What a function that reads or writes records needs of the running service.

    The low layers (the audit records, the PKI's trust list) ask for this much and
    no more, so they never import the composition root that builds it.
    """

    @property
    def database(self) -> Database: ...

    @property
    def clock(self) -> Clock: ...


def open_database(url: str) -> Database:
    engine = create_database_engine(url)
    migrate(engine)
    lock = write_lock_for(engine.url.database, engine.dialect.name)
    return Database(engine, sessionmaker(engine, expire_on_commit=False), lock)
