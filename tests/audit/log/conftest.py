"""A bare database (migrated, no home) for the log's storage tests, on each backend."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trustsvc.db import Database, open_database


@pytest.fixture
def log_database_url(database_url: str | None, tmp_path: Path) -> str:
    return database_url or f"sqlite:///{tmp_path / 'log.sqlite3'}"


@pytest.fixture
def database(log_database_url: str) -> Iterator[Database]:
    opened = open_database(log_database_url)
    try:
        yield opened
    finally:
        opened.dispose()
