"""Statements compiled once and run on the driver's own cursor, for the hottest paths.

SQLAlchemy's per-call work (building the statement's cache key, wrapping the
connection, setting up a result object with its column metadata) costs more
than a one-row indexed read or a small insert does in the database. The few
statements that run on every verification or access record are therefore
compiled once per engine and given to the driver directly, with the column
types' bind processors still applied, so that what is written is what the ORM
would write.

Results come back as the driver's tuples: a caller reading dates from SQLite
converts them itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine.interfaces import DBAPICursor
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler


class PreparedStatement:
    """One statement compiled for one engine's dialect, with its bind processors."""

    def __init__(
        self, statement: ClauseElement, engine: Engine, column_keys: Sequence[str] | None = None
    ) -> None:
        compiled = statement.compile(
            dialect=engine.dialect, column_keys=list(column_keys) if column_keys else None
        )
        assert isinstance(compiled, SQLCompiler)
        self._compiled = compiled
        self.sql = compiled.string
        #: Parameter names in order for a positional driver (SQLite), None for a named one.
        self._order = compiled.positiontup if compiled.positional else None
        processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.bind_processor(engine.dialect)
            if processor is not None:
                processors[name] = processor
        self._processors = processors

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters for ``values`` (the statement's own literals filled in)."""
        given = self._compiled.construct_params(dict(values))
        for name, processor in self._processors.items():
            if name in given:
                given[name] = processor(given[name])
        if self._order is None:
            return given
        return tuple(given[name] for name in self._order)

    def fetch_one(self, cursor: DBAPICursor, **values: Any) -> Sequence[Any] | None:
        cursor.execute(self.sql, self.parameters(values))
        row: Sequence[Any] | None = cursor.fetchone()
        return row

    def execute_many(self, cursor: DBAPICursor, rows: Iterable[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.parameters(row) for row in rows])


@contextmanager
def driver_cursor(engine: Engine, *, commit: bool = False) -> Iterator[DBAPICursor]:
    """A cursor on a pooled driver connection, given back (rolled back) afterwards.

    With ``commit``, what the cursor did is committed when the block ends without
    an exception; otherwise nothing it did is kept.
    """
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        try:
            yield cursor
        finally:
            cursor.close()
        if commit:
            connection.commit()
    except engine.dialect.loaded_dbapi.Error as exc:
        # Raised as SQLAlchemy would (IntegrityError, OperationalError...), so that
        # callers see one family of database errors whichever way the query went.
        raise DBAPIError.instance(None, None, exc, engine.dialect.loaded_dbapi.Error) from exc
    finally:
        connection.close()  # back to the pool; the pool rolls back what was not committed
