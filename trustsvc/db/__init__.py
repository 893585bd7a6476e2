"""Database engines, units of work and schema migrations.

``open_database`` is the one way in: it creates the engine for the configured
URL (SQLite by default, PostgreSQL via ``postgresql+psycopg://``), applies the
Alembic migrations up to head, and returns a ``Database`` whose ``begin()``
is one unit of work: everything inside commits together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from trustsvc.errors import ConfigurationError

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

    @contextmanager
    def begin(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        with self.sessions.begin() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def create_database_engine(url: str) -> Engine:
    try:
        if url.startswith("sqlite"):
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


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    except SQLAlchemyError as exc:
        reason = str(exc.orig if hasattr(exc, "orig") else exc).splitlines()[0]
        raise ConfigurationError(f"database is not reachable or not migratable: {reason}") from exc


def open_database(url: str) -> Database:
    engine = create_database_engine(url)
    migrate(engine)
    return Database(engine, sessionmaker(engine, expire_on_commit=False))
