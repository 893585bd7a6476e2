from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import StatementError

from trustsvc.db import Database, open_database
from trustsvc.db.models import Base, Department
from trustsvc.settings import Settings


def test_migrations_produce_exactly_the_models(database: Database) -> None:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []


def test_migrating_twice_is_harmless(database: Database, settings: Settings) -> None:
    again = open_database(settings.resolved_database_url)
    again.dispose()


def test_times_come_back_aware_and_in_utc(database: Database) -> None:
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 1, 2, 8, 30, tzinfo=beijing)
    with database.begin() as session:
        session.add(Department(code="11430000006122244L", name="x", created_at=moment))
    with database.begin() as session:
        stored = session.query(Department).one().created_at
    assert stored == moment
    assert stored.tzinfo is not None and stored.utcoffset() == timedelta(0)
    assert stored.hour == 0


def test_naive_times_are_refused(database: Database) -> None:
    naive = datetime(2026, 1, 1)  # noqa: DTZ001
    with pytest.raises(StatementError, match="naive"), database.begin() as session:
        session.add(Department(code="11430000006122244L", name="x", created_at=naive))
        session.flush()


def test_a_failed_unit_of_work_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError), database.begin() as session:
        session.add(Department(code="11430000006122244L", name="x", created_at=datetime.now(UTC)))
        session.flush()
        raise RuntimeError("crash mid-way")
    with database.begin() as session:
        assert session.query(Department).count() == 0


def test_departments_sharing_a_name_are_renamed_when_names_become_unique(
    settings: Settings,
) -> None:
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from trustsvc.db import MIGRATIONS, create_database_engine, migrate

    settings.home.mkdir(parents=True)
    engine = create_database_engine(settings.resolved_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0005")
        for number, code in enumerate(("11430000006122244L", "11330100MB00000011", "X3")):
            connection.execute(
                text("INSERT INTO departments (code, name, created_at) VALUES (:c, :n, :t)"),
                {"c": code, "n": "某局" if number < 2 else "另一局", "t": datetime.now(UTC)},
            )
    migrate(engine)
    with engine.connect() as connection:
        names = connection.execute(text("SELECT name FROM departments ORDER BY id")).scalars()
        assert list(names) == ["某局", "某局（11330100MB00000011）", "另一局"]
    engine.dispose()
