"""Statements run on the driver's cursor write and read what the ORM does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import bindparam, insert, select
from sqlalchemy.exc import IntegrityError

from trustsvc.db import Database
from trustsvc.db.models import Department
from trustsvc.db.prepared import PreparedStatement, driver_cursor

_COLUMNS = ["code", "name", "region_code", "created_at"]


def test_rows_inserted_on_the_driver_read_back_through_the_orm(database: Database) -> None:
    statement = PreparedStatement(insert(Department), database.engine, column_keys=_COLUMNS)
    beijing = timezone(timedelta(hours=8))
    moment = datetime(2026, 11, 22, 9, 30, 15, 123456, tzinfo=beijing)
    rows = [
        {"code": "11430000006122244L", "name": "省市场监管局", "region_code": None,
         "created_at": moment},
        {"code": "11330100MB00000018", "name": "杭州", "region_code": "330100",
         "created_at": moment + timedelta(days=1)},
    ]  # fmt: skip
    with driver_cursor(database.engine, commit=True) as cursor:
        statement.execute_many(cursor, rows)
    with database.begin() as session:
        found = session.scalars(select(Department).order_by(Department.code)).all()
    assert [(d.code, d.name, d.region_code) for d in found] == [
        ("11330100MB00000018", "杭州", "330100"),
        ("11430000006122244L", "省市场监管局", None),
    ]
    # The column type's conversion was applied: the same instant, aware and in UTC.
    assert found[1].created_at == moment and found[1].created_at.tzinfo == UTC


def test_a_read_fills_the_statements_own_literals(database: Database) -> None:
    with database.begin() as session:
        session.add(Department(code="11430000006122244L", name="甲", created_at=datetime.now(UTC)))
    by_code = (
        select(Department.name).where(Department.code == bindparam("code")).limit(1)
    )  # the limit is a literal the caller does not give
    statement = PreparedStatement(by_code, database.engine)
    with driver_cursor(database.engine) as cursor:
        assert statement.fetch_one(cursor, code="11430000006122244L") == ("甲",)
        assert statement.fetch_one(cursor, code="nobody") is None


def test_without_commit_nothing_is_kept_and_driver_errors_are_sqlalchemys(
    database: Database,
) -> None:
    statement = PreparedStatement(insert(Department), database.engine, column_keys=_COLUMNS)
    row = {"code": "11430000006122244L", "name": "甲", "region_code": None,
           "created_at": datetime.now(UTC)}  # fmt: skip
    with driver_cursor(database.engine) as cursor:
        statement.execute_many(cursor, [row])
    with database.begin() as session:
        assert session.scalars(select(Department)).all() == []
    with pytest.raises(IntegrityError), driver_cursor(database.engine, commit=True) as cursor:
        statement.execute_many(cursor, [row, row])  # the code is unique
    with database.begin() as session:
        assert session.scalars(select(Department)).all() == []
