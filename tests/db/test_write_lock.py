"""The node's write lock: two holders of one SQLite file's lock never overlap."""

from __future__ import annotations

import threading
from pathlib import Path

from trustsvc.db import open_database
from trustsvc.db.write_lock import WriteLock, write_lock_for


def test_two_locks_on_one_file_exclude_each_other(tmp_path: Path) -> None:
    # Two WriteLocks stand for two processes: each opens the file itself, and flock
    # locks of separate open files conflict as those of separate processes do.
    first, second = WriteLock(tmp_path / "db-write.lock"), WriteLock(tmp_path / "db-write.lock")
    entered = threading.Event()

    def other() -> None:
        with second.held():
            entered.set()

    with first.held():
        thread = threading.Thread(target=other)
        thread.start()
        assert not entered.wait(0.3)
    assert entered.wait(10)
    thread.join(10)
    first.close()
    second.close()


def test_threads_of_one_process_take_turns(tmp_path: Path) -> None:
    lock = WriteLock(tmp_path / "db-write.lock")
    inside: list[int] = []
    overlaps: list[int] = []

    def work() -> None:
        for _ in range(50):
            with lock.held():
                inside.append(1)
                if len(inside) > 1:
                    overlaps.append(1)
                inside.pop()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert overlaps == []
    lock.close()


def test_the_lock_file_is_private_and_beside_the_database(tmp_path: Path) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'trustsvc.db'}")
    try:
        with database.writing():
            pass
        path = tmp_path / "trustsvc.db-write.lock"
        assert database.write_lock.path == path
        assert path.stat().st_mode & 0o777 == 0o600
    finally:
        database.dispose()


def test_no_lock_file_for_postgresql_or_memory() -> None:
    assert write_lock_for("trustsvc", "postgresql").path is None
    assert write_lock_for(":memory:", "sqlite").path is None
    assert write_lock_for(None, "sqlite").path is None
