"""Migration 0013: existing departments get the kind their name states, and the purposes
existing clients state become catalogue entries (every type shipped then, marked migrated)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from trustsvc.db import MIGRATIONS, create_database_engine, migrate
from trustsvc.licenses.types import load_types
from trustsvc.settings import Settings


def test_kinds_are_derived_and_client_purposes_migrated(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    engine = create_database_engine(settings.resolved_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    now = datetime.now(UTC)
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
        for code, name in (
            ("11330100MB00000018", "杭州市市场监督管理局"),
            ("11330100MB00000026", "宁波市住房和城乡建设局"),
            ("11330100MB00000034", "某某办公室"),
        ):
            connection.execute(
                text("INSERT INTO departments (code, name, created_at) VALUES (:c, :n, :t)"),
                {"c": code, "n": name, "t": now},
            )
        for name, purposes in (("银行", ["开户", "贷款审查"]), ("另一银行", ["开户"])):
            connection.execute(
                text(
                    "INSERT INTO api_clients (name, role, purposes_json, created_at) "
                    "VALUES (:n, 'verifier', :p, :t)"
                ),
                {"n": name, "p": json.dumps(purposes, ensure_ascii=False), "t": now},
            )
    migrate(engine)
    with engine.connect() as connection:
        kinds = connection.execute(text("SELECT kind FROM departments ORDER BY id")).scalars()
        assert list(kinds) == ["market-regulation", "housing-construction", None]
        rows = connection.execute(
            text("SELECT name, types_json, migrated FROM purposes ORDER BY id")
        ).all()
    engine.dispose()
    assert [(name, bool(migrated)) for name, _types, migrated in rows] == [
        ("开户", True),
        ("贷款审查", True),
    ]
    assert all(sorted(json.loads(types)) == sorted(load_types()) for _n, types, _m in rows)
