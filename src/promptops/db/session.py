"""Engine, sessions and migrations.

Two kinds of unit of work:
- ``db.read()``: a plain session (deferred transaction).
- ``db.write()``: a session whose transaction takes the write lock at once on SQLite
  (``BEGIN IMMEDIATE``), so concurrent writers queue on ``busy_timeout`` instead of failing
  with "database is locked" when a read upgrades to a write. On PostgreSQL it is an ordinary
  transaction; services lock the rows they change (``SELECT ... FOR UPDATE``).
Both commit on success and roll back on any exception: nothing is stored half-way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

__all__ = ["Database", "migrate"]

_MIGRATIONS = Path(__file__).with_name("migrations")


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
        # Called with the changes of each committed write (see promptops.domain.changes).
        self.listeners: list[Callable[[list[Any]], None]] = []

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
            for listener in self.listeners:
                listener(changes)

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
