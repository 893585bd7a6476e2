"""Files with holder data are their owner's alone: home 0700, database 0600, documents 0600/0700."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from tests.helpers import DEPARTMENT_A
from trustsvc.db import create_database_engine
from trustsvc.licenses.issuing import IssuingService
from trustsvc.licenses.requests import IssueRequest
from trustsvc.licenses.types import example_data, get_type
from trustsvc.services import Services
from trustsvc.settings import Settings


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def lax_umask() -> object:
    """The usual 022: what the service creates must not rely on a strict umask."""
    previous = os.umask(0o022)
    yield None
    os.umask(previous)


def test_home_database_documents_and_keys_are_private(
    lax_umask: object, services: Services, licenses: IssuingService
) -> None:
    home = services.settings.home
    data = example_data(get_type(licenses.types, "business-license"))
    sha256 = licenses.issue(IssueRequest(DEPARTMENT_A, "business-license", data)).license.sha256
    assert _mode(home) == 0o700
    if services.settings.database_url is None:
        database = home / "trustsvc.db"
        companions = [database, *(home / f"trustsvc.db{s}" for s in ("-wal", "-shm"))]
        assert [(p.name, _mode(p)) for p in companions if p.exists()] == [
            (p.name, 0o600) for p in companions if p.exists()
        ]
        assert (home / "trustsvc.db-wal").exists()
    documents = home / "documents"
    document = documents / sha256[:2] / f"{sha256}.pdf"
    assert (_mode(documents), _mode(document.parent), _mode(document)) == (0o700, 0o700, 0o600)
    keys = [p for p in home.rglob("*.key*") if p.is_file()] + list(
        (home / "pki" / "keys").iterdir()
    )
    assert keys and all(_mode(k) & 0o077 == 0 for k in keys), [(k, oct(_mode(k))) for k in keys]


def test_an_existing_database_file_left_readable_is_tightened(
    tmp_path: Path, lax_umask: object
) -> None:
    database = tmp_path / "old.db"
    database.write_bytes(b"")
    database.chmod(0o644)
    wal = tmp_path / "old.db-wal"
    wal.write_bytes(b"")
    wal.chmod(0o644)
    engine = create_database_engine(f"sqlite:///{database}")
    engine.dispose()
    assert (_mode(database), _mode(wal)) == (0o600, 0o600)


def test_a_new_database_file_is_created_private(tmp_path: Path, lax_umask: object) -> None:
    settings = Settings(home=tmp_path / "home", key_passphrase=SecretStr("modes test"))
    settings.home.mkdir()
    engine = create_database_engine(settings.resolved_database_url)
    with engine.connect() as connection:
        connection.exec_driver_sql("CREATE TABLE t (x)")
        connection.commit()
    engine.dispose()
    assert _mode(settings.home / "trustsvc.db") == 0o600
