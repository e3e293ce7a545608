"""One server process per SQLite file.

A SQLite database has no channel for telling other processes what changed, so a second
server process on the same file would serve its in-memory copies (active prompts, keys)
stale for ever. Each server process therefore holds an exclusive ``flock`` on
``<database>.server-lock`` for its life; a second one is refused with a clear message. The
kernel releases the lock when the holder dies, even by ``kill -9``: a stale lock file never
blocks. Only serving takes the lock: the CLI, migrations and code that opens the database
in-process (tests, scripts) do not, and apps built in the same process share it.
"""

from __future__ import annotations

import fcntl
import os
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

__all__ = ["AlreadyServedError", "acquire", "lock_path", "release"]

_lock = threading.Lock()
_held: dict[str, tuple[int, int]] = {}  # lock path -> (fd, holders in this process)


class AlreadyServedError(RuntimeError):
    pass


def lock_path(database_url: str) -> Path | None:
    """The lock file of a SQLite database file, or None (PostgreSQL, in-memory)."""
    if not database_url.startswith("sqlite"):
        return None
    database = make_url(database_url).database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        return None
    return Path(os.path.realpath(database)).with_name(Path(database).name + ".server-lock")


def acquire(database_url: str) -> Path | None:
    """Hold the server lock of ``database_url`` (re-entrant within a process); returns the
    lock file, or None when there is none to hold. Raises AlreadyServedError."""
    path = lock_path(database_url)
    if path is None:
        return None
    key = str(path)
    with _lock:
        if key in _held:
            fd, count = _held[key]
            _held[key] = (fd, count + 1)
            return path
        fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            database = path.with_name(path.name.removesuffix(".server-lock"))
            raise AlreadyServedError(
                f"another PromptOps server (pid {holder}) is already serving the SQLite"
                f" database {database}; a SQLite database is served by one process. Stop"
                " that server first, or use PostgreSQL (PROMPTOPS_DATABASE_URL="
                "postgresql://...) to run several server processes."
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        _held[key] = (fd, 1)
        return path


def release(database_url: str) -> None:
    path = lock_path(database_url)
    if path is None:
        return
    with _lock:
        entry = _held.get(str(path))
        if entry is None:
            return
        fd, count = entry
        if count > 1:
            _held[str(path)] = (fd, count - 1)
            return
        del _held[str(path)]
        os.close(fd)  # releases the flock
