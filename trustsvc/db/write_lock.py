"""The node's write lock on a SQLite database: writers queue on an OS lock, not by polling.

SQLite lets one writer in at a time; the others wait in its busy handler,
which sleeps in growing steps (up to 100 ms) and retries, so a waiter
sleeps on well past the moment the lock is free while a writer that keeps
coming back takes it again. Two serving processes' access-record writers
and log integrators contend like that every few milliseconds. The hot
writers therefore take this lock around their transaction first: a
``flock`` on a file beside the database (every process of the node) under
a thread lock (every thread of the process), and the kernel wakes a waiter
the moment the holder lets go. Rarer writers still meet SQLite's own lock.
On PostgreSQL (row locks queue fairly) it is nothing.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The lock file holds nothing, but it sits beside the holder data: its owner's alone.
_FILE_MODE = 0o600


class WriteLock:
    """Held around one write transaction; ``path`` None (no file to share) makes it free."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._thread_lock = threading.Lock()
        # The descriptor and the process that opened it: a forked child opens its own,
        # since a descriptor it inherited would share the parent's lock.
        self._fd: int | None = None
        self._pid = 0

    @contextmanager
    def held(self) -> Iterator[None]:
        if self.path is None:
            yield
            return
        with self._thread_lock:
            fd = self._descriptor(self.path)
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)

    def _descriptor(self, path: Path) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, _FILE_MODE)
            self._pid = os.getpid()
        return self._fd

    def close(self) -> None:
        with self._thread_lock:
            if self._fd is not None and self._pid == os.getpid():
                os.close(self._fd)
            self._fd = None


def write_lock_for(url_database: str | None, dialect: str) -> WriteLock:
    """The write lock for a database: a file beside a SQLite file, else none."""
    if dialect != "sqlite" or not url_database or url_database == ":memory:":
        return WriteLock(None)
    if url_database.startswith("file:"):
        return WriteLock(None)
    database = Path(url_database)
    return WriteLock(database.with_name(database.name + "-write.lock"))
