"""Engine, sessions and migrations.

Two kinds of unit of work:
- ``db.read()``: a plain session (deferred transaction).
- ``db.write()``: a session whose transaction takes the write lock at once on SQLite
  (``BEGIN IMMEDIATE``), so concurrent writers queue on ``busy_timeout`` instead of failing
  with "database is locked" when a read upgrades to a write. On PostgreSQL it is an ordinary
  transaction; services lock the rows they change (``SELECT ... FOR UPDATE``).
Both commit on success and roll back on any exception: nothing is stored half-way.

After a write commits, its changes go to ``Database.listeners``. A listener is either a
callable taking the changes, or a *change consumer*: an object with ``on_changes(changes)``
(keep what it derived from the database fresh) and ``clear()`` (drop all of it; the next
use reads the database again). Each listener runs on its own: one that raises is logged
with its name, the others still run, and the write still succeeds (it is committed). A
consumer whose ``on_changes`` raised may hold stale data, so its ``clear()`` is called.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["ChangeConsumer", "Database", "Listener", "Session", "deliver", "migrate"]

log = logging.getLogger("promptops.db")

_MIGRATIONS = Path(__file__).with_name("migrations")


@runtime_checkable
class ChangeConsumer(Protocol):
    """Something derived from the database (a cache), kept fresh by committed changes."""

    def on_changes(self, changes: list[Any]) -> None: ...

    def clear(self) -> None:
        """Drop everything derived; called when an invalidation failed or may be missed."""


Listener = ChangeConsumer | Callable[[list[Any]], None]


def _name(listener: object) -> str:
    owner = getattr(listener, "__self__", None)
    func = getattr(listener, "__qualname__", None)
    if owner is not None and func is not None:
        return f"{type(owner).__module__}.{func}"
    if func is not None:
        return f"{getattr(listener, '__module__', '?')}.{func}"
    return f"{type(listener).__module__}.{type(listener).__qualname__}"


def deliver(listeners: Iterable[Listener], changes: list[Any]) -> None:
    """Hand ``changes`` to each listener in isolation (see the module docstring)."""
    for listener in listeners:
        if isinstance(listener, ChangeConsumer):
            call: Callable[[list[Any]], None] = listener.on_changes
            clear: Callable[[], None] | None = listener.clear
        else:
            call, clear = listener, None
        try:
            call(changes)
        except Exception:
            log.exception("change listener %s failed", _name(call))
            if clear is None:
                continue
            try:
                clear()
                log.warning("cleared %s: it may have missed an invalidation", _name(listener))
            except Exception:
                log.exception("change listener %s could not be cleared", _name(listener))


class Database:
    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            self.engine = create_engine(
                url, connect_args={"check_same_thread": False, "timeout": 30}
            )
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(
                url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True
            )
        self._read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(sqlite_begin="IMMEDIATE"), expire_on_commit=False
        )
        # Called inside each write transaction, just before commit, with the changes it
        # recorded: work that must commit or roll back with the change (e.g. the webhook
        # outbox) goes here.
        self.before_commit: list[Callable[[Session, list[Any]], None]] = []
        # Given the changes of each committed write (see promptops.domain.changes and the
        # module docstring): callables or change consumers, each run in isolation.
        self.listeners: list[Listener] = []

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._read() as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        with self._write() as session:
            with session.begin():
                yield session
                if self.before_commit and session.info.get("changes"):
                    for hook in self.before_commit:
                        hook(session, list(session.info["changes"]))
            changes = session.info.pop("changes", None)
        if changes:
            deliver(self.listeners, changes)

    def dispose(self) -> None:
        self.engine.dispose()


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Take transaction control from the driver so BEGIN is ours to emit.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def migrate(url: str) -> None:
    """Bring the schema at ``url`` to the latest migration (idempotent)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "heads")
