"""Initialised homes made once per test process and copied for each test.

Building a home (``initialise_home``: the root, issuing, TSA, OCSP and trust
bundle keys and certificates, and the migrated database recording them) is the
dearest part of most tests' set-up. A ``HomeTemplates`` builds one home per
distinct set of settings and database kind, the first time a test asks, and
gives every test a copy: the home's files copied, and a database of its own
that holds the same rows (the SQLite file copied, or, on PostgreSQL, the
template schema's dump replayed into the test's own schema).

A copy is what a test would have built itself, except that the certificates
were made a little earlier (when the template was) and the data key, which the
license service makes on first use, is there already. Tests that need keys of
their own (initialisation, key rotation) call ``initialise_home`` directly.

A template may also be prepared: set-up that many tests would each do first
(``licenses``' two departments, tests/conftest.py) run once on the template home,
so that the copies hold its rows and files too.
"""

from __future__ import annotations

import json
import secrets
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from pydantic import SecretStr
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import SQLAlchemyError

from trustsvc.bootstrap import initialise_home, open_services
from trustsvc.clock import FixedClock
from trustsvc.pki.data_key import load_or_create_data_key
from trustsvc.services import Services
from trustsvc.settings import Settings

#: Settings that ``initialise_home`` does not read: where the home is, which database it
#: uses, and how the running service behaves. Every other setting (and any added later)
#: tells homes apart.
_NOT_IN_HOME = frozenset(
    {
        "home",
        "database_url",
        "development_sign_in",
        "document_store",
        "cjk_font",
        "seal_profile",
        "timezone",
        "presentation_lifetime_seconds",
        "verification_processes",
        "api_rate_limit_per_minute",
        "refusal_rate_limit_per_minute",
        "oidc_issuer",
        "oidc_client_id",
        "oidc_client_secret",
        "oidc_id_number_claim",
        "oidc_id_type_claim",
        "holder_session_minutes",
        "public_rate_limit_per_minute",
        "public_rate_limit_burst",
        "pki_rate_limit_per_minute",
        "pki_rate_limit_burst",
        "trusted_proxies",
        "header_timeout_seconds",
        "max_header_bytes",
        "tsa_timeout_seconds",
        "store_sweep_minutes",
        "store_sweep_grace_minutes",
    }
)


def settings_key(settings: Settings) -> str:
    """The settings a home is made from, secrets included: equal keys, equal homes."""

    def plain(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return value.get_secret_value()
        return str(value) if not isinstance(value, (str, int, float, bool, type(None))) else value

    fields = {
        name: plain(getattr(settings, name))
        for name in type(settings).model_fields
        if name not in _NOT_IN_HOME
    }
    return json.dumps(fields, sort_keys=True, default=str)


@dataclass(frozen=True)
class _Template:
    home: Path
    #: On PostgreSQL: the template schema's dump (tables, rows, sequences), and its rows
    #: alone; in both the template schema's name stands for the schema to fill.
    script: str | None = None
    rows: str | None = None
    schema: str | None = None


def _libpq_url(sqlalchemy_url: str) -> str:
    url = make_url(sqlalchemy_url).set(drivername="postgresql", query={})
    return url.render_as_string(hide_password=False)


def _schema_of(settings: Settings) -> str:
    """The schema a test's PostgreSQL URL selects (``options=-csearch_path=...``)."""
    options = make_url(settings.resolved_database_url).query.get("options", "")
    assert isinstance(options, str) and options.startswith("-csearch_path="), options
    return options.removeprefix("-csearch_path=")


def schema_url(base_url: str, schema: str) -> str:
    """``base_url`` with ``schema`` as the search path of every connection."""
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options={quote(f'-csearch_path={schema}')}"


def _add_data_key(home: Path, settings: Settings) -> None:
    """The data key the license service makes on first use, made now: every copy has one
    under the same salt, so that the process derives its wrapping key (scrypt) once."""
    load_or_create_data_key(home / "pki" / "data.key", settings.key_passphrase)


def _prepare(
    settings: Settings, clock: FixedClock, prepare: Callable[[Services], None] | None
) -> None:
    if prepare is None:
        return
    opened = open_services(settings, clock)
    try:
        prepare(opened)
    finally:
        opened.close()


class HomeTemplates:
    """Initialised homes by settings, built on first use under ``directory``.

    On PostgreSQL it also lends the schemas of tests that open a home: a schema
    given back is emptied (every row deleted, in foreign-key order) and lent
    again, its tables already made, so that only the template's rows and
    sequence positions are written for the next test. One that cannot be
    emptied, or whose tables are not the migrations' tables, is dropped.
    """

    def __init__(self, directory: Path, postgres_url: str | None) -> None:
        self.directory = directory
        self.postgres_url = postgres_url
        self._templates: dict[tuple[str, bool, str], _Template] = {}
        self._template_schemas: list[str] = []
        #: Lent schemas that hold the migrations' tables, and emptied ones ready to lend.
        self._tabled: set[str] = set()
        self._free: list[str] = []
        #: The migrations' tables, children before parents: the order rows are deleted in.
        self._tables: list[str] | None = None
        self._admin = (
            create_engine(postgres_url, isolation_level="AUTOCOMMIT", pool_size=2)
            if postgres_url
            else None
        )

    # ---- homes ------------------------------------------------------------------------

    def install(
        self, settings: Settings, prepare: Callable[[Services], None] | None = None
    ) -> bool:
        """Make ``settings.home`` (and its database) a copy of an initialised home.

        With ``prepare``, of a home that ``prepare`` was run on once after it was
        initialised (opened at the template's clock): what many tests would each do
        first, done once per process. False, with nothing done, when the home exists
        already: the caller initialises it the ordinary way then (``clear`` empties
        its schema first).
        """
        if settings.home.exists():
            return False
        on_postgres = settings.database_url is not None
        template = self._template(settings, on_postgres, prepare)
        shutil.copytree(template.home, settings.home, symlinks=True)
        if on_postgres:
            assert template.script is not None and template.rows is not None
            assert template.schema is not None
            schema = _schema_of(settings)
            if schema in self._tabled:
                self._execute(template.rows.replace(template.schema, schema))
            else:
                self._execute(template.script.replace(template.schema, schema))
                self._tabled.add(schema)
        return True

    def _template(
        self, settings: Settings, on_postgres: bool, prepare: Callable[[Services], None] | None
    ) -> _Template:
        key = (settings_key(settings), on_postgres, prepare.__qualname__ if prepare else "")
        found = self._templates.get(key)
        if found is None:
            found = self._build(settings, on_postgres, prepare)
            self._templates[key] = found
        return found

    def _build(
        self, settings: Settings, on_postgres: bool, prepare: Callable[[Services], None] | None
    ) -> _Template:
        place = self.directory / f"home-{len(self._templates)}"
        place.mkdir(parents=True)
        home = place / "home"
        clock = FixedClock(datetime.now(UTC).replace(microsecond=0))
        if not on_postgres:
            made = settings.model_copy(update={"home": home, "database_url": None})
            initialise_home(made, clock)
            _add_data_key(home, settings)
            _prepare(made, clock, prepare)
            return _Template(home)
        assert self.postgres_url is not None
        schema = f"tmpl_{secrets.token_hex(8)}"
        self._execute(f'CREATE SCHEMA "{schema}"')
        self._template_schemas.append(schema)
        made = settings.model_copy(
            update={"home": home, "database_url": schema_url(self.postgres_url, schema)}
        )
        initialise_home(made, clock)
        _add_data_key(home, settings)
        _prepare(made, clock, prepare)
        if self._tables is None:
            self._tables = self._deletion_order(schema)
        return _Template(home, self._dump(schema), self._dump(schema, "--data-only"), schema)

    # ---- PostgreSQL schemas --------------------------------------------------------------

    def lend_schema(self) -> str:
        """A schema for one test: emptied and ready, or new (and empty)."""
        if self._free:
            return self._free.pop()
        schema = f"t_{secrets.token_hex(6)}"
        self._execute(f'CREATE SCHEMA "{schema}"')
        return schema

    def clear(self, settings: Settings) -> None:
        """Leave the settings' schema without tables, as a new one (for ``initialise_home``)."""
        if settings.database_url is None:
            return
        schema = _schema_of(settings)
        self._execute(f'DROP SCHEMA "{schema}" CASCADE; CREATE SCHEMA "{schema}"')
        self._tabled.discard(schema)

    def give_back(self, schema: str) -> None:
        """Empty a lent schema for the next test; drop it if its tables are not the migrations'."""
        if schema in self._tabled and self._tables is not None:
            self._tabled.discard(schema)
            try:
                if self._tables_of(schema) == set(self._tables):
                    # Names from the catalogue and from secrets.token_hex, never from a test.
                    deletes = [f'DELETE FROM "{schema}"."{table}"' for table in self._tables]  # noqa: S608
                    self._execute("; ".join(deletes))
                    self._tabled.add(schema)
                    self._free.append(schema)
                    return
            except SQLAlchemyError:
                pass  # dropped below, and a new schema made for the next test
        self.drop_schema(schema)

    def drop_schema(self, schema: str) -> None:
        self._execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')

    def close(self) -> None:
        if self._admin is None:
            return
        try:
            for schema in [*self._free, *self._template_schemas]:
                self.drop_schema(schema)
        finally:
            self._admin.dispose()

    def _tables_of(self, schema: str) -> set[str]:
        assert self._admin is not None
        with self._admin.connect() as connection:
            return set(
                connection.execute(
                    text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"),
                    {"schema": schema},
                ).scalars()
            )

    def _deletion_order(self, schema: str) -> list[str]:
        """The schema's tables, each after every table whose rows refer to it."""
        assert self._admin is not None
        with self._admin.connect() as connection:
            references = connection.execute(
                text(
                    "SELECT child.relname, parent.relname FROM pg_constraint c"
                    " JOIN pg_class child ON child.oid = c.conrelid"
                    " JOIN pg_class parent ON parent.oid = c.confrelid"
                    " JOIN pg_namespace n ON n.oid = c.connamespace"
                    " WHERE c.contype = 'f' AND n.nspname = :schema"
                ),
                {"schema": schema},
            ).all()
        tables = sorted(self._tables_of(schema))
        referring: dict[str, set[str]] = {table: set() for table in tables}
        for child, parent in references:
            if child != parent:
                referring[parent].add(child)
        order: list[str] = []
        placed: set[str] = set()
        while len(order) < len(tables):
            ready = [t for t in tables if t not in placed and referring[t] <= placed]
            if not ready:
                raise RuntimeError(f"foreign keys in a cycle among {sorted(set(tables) - placed)}")
            order.extend(ready)
            placed.update(ready)
        return order

    def _dump(self, schema: str, *options: str) -> str:
        """The schema as SQL, as pg_dump writes it (rows as INSERTs)."""
        assert self.postgres_url is not None
        dumped = subprocess.run(
            [
                "pg_dump",
                "--inserts",
                f"--schema={schema}",
                "--no-owner",
                "--no-privileges",
                *options,
                f"--dbname={_libpq_url(self.postgres_url)}",
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        kept = [
            line
            for line in dumped.splitlines()
            # psql's meta-commands (\restrict) are not SQL; the test's schema exists already.
            if not line.startswith("\\") and line.strip() != f"CREATE SCHEMA {schema};"
        ]
        return "\n".join(kept)

    def _execute(self, script: str) -> None:
        """Run SQL without parameters: psycopg sends it whole, as one simple query."""
        assert self._admin is not None
        raw = self._admin.raw_connection()
        try:
            cursor = raw.cursor()
            try:
                cursor.execute(script)
            finally:
                cursor.close()
            # The dumps set search_path to ''; the next statements name their schema anyway.
            raw.commit()
        finally:
            raw.close()
