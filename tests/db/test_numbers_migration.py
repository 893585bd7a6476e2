"""Migration 0014: printed numbers issued before it are never printed again."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import text

from trustsvc.settings import Settings


def test_counters_start_above_the_numbers_printed_before(settings: Settings) -> None:
    from alembic import command
    from alembic.config import Config

    from trustsvc.db import MIGRATIONS, create_database_engine, migrate

    settings.home.mkdir(parents=True)
    engine = create_database_engine(settings.resolved_database_url)
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    issued = datetime(2025, 12, 31, 17, 0, tzinfo=UTC)  # 2026-01-01 in Shanghai
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "0010")
        department = connection.execute(
            text(
                "INSERT INTO departments (code, name, created_at) VALUES (:c, :n, :t) RETURNING id"
            ),
            {"c": "11330100MB00000011", "n": "某局", "t": issued},
        ).scalar_one()
        # The old shared counter: sequences 1 to 32 were handed out (in blocks).
        connection.execute(
            text("INSERT INTO serial_counters (department_id, next_value) VALUES (:d, 33)"),
            {"d": department},
        )
        connection.execute(
            text(
                "INSERT INTO licenses (identifier, license_number, type_key, type_code,"
                " department_id, issuer_code, serial, version, holder_name, holder_id_type,"
                " holder_id_digest, holder_id_sealed, fields_json, valid_from, issued_at,"
                " status, status_changed_at, sha256, signed_sha256, seal_serial_hex,"
                " request_digest) VALUES ('I1', '3301002025000017', 'business-license', 'c',"
                " :d, '11330100MB00000011', '1', 1, 'h', '001', 'x', :sealed, '{}', :day,"
                " :at, 'valid', :at, 's', 's', '01', 'r')"
            ),
            {"d": department, "sealed": b"x", "day": date(2025, 12, 31), "at": issued},
        )
    migrate(engine)
    with engine.connect() as connection:
        counters = connection.execute(
            text("SELECT type_key, scope_year, next_value FROM number_counters ORDER BY scope_year")
        ).all()
    engine.dispose()
    assert [tuple(c) for c in counters] == [
        ("business-license", 0, 33),
        ("business-license", 2025, 33),
        ("business-license", 2026, 33),
    ]
