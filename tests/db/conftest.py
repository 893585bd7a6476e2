"""A migrated database of its own for each test (SQLite, and PostgreSQL when configured)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from trustsvc.db import Database, open_database
from trustsvc.settings import Settings


@pytest.fixture
def database(settings: Settings) -> Iterator[Database]:
    settings.home.mkdir(parents=True)
    db = open_database(settings.resolved_database_url)
    yield db
    db.dispose()
