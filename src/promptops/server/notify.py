"""Cross-process change notification on PostgreSQL (LISTEN/NOTIFY).

Each write transaction that records changes also runs ``pg_notify`` (a before-commit hook):
PostgreSQL delivers a notification only when its transaction commits, so other processes
hear of exactly the committed changes. Every server process runs a :class:`ChangeListener`
thread that LISTENs and hands what it hears to the same listeners a local commit calls (the
read-path snapshot, the key authenticator). When the listening connection drops, the
listener cannot know what it missed, so it resets those caches before listening again.

SQLite has no such channel; a SQLite database is served by one process.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from promptops._backoff import Backoff
from promptops.db.session import deliver
from promptops.domain.changes import Change, ChangeKind

__all__ = ["CHANNEL", "ChangeListener", "decode", "encode", "publish"]

log = logging.getLogger("promptops.server")

CHANNEL = "promptops_changes"
_MAX_PAYLOAD = 7000  # PostgreSQL's limit is 8000 bytes
_FIELDS = {f.name for f in fields(Change)}
_RESET = "reset"


def encode(changes: list[Change]) -> str:
    payload = json.dumps([asdict(c) for c in changes], separators=(",", ":"))
    if len(payload.encode()) > _MAX_PAYLOAD:
        return json.dumps(_RESET)  # too many to name: everyone drops everything
    return payload


def decode(payload: str) -> list[Change] | None:
    """The changes in a notification, or None for "reset everything"."""
    data = json.loads(payload)
    if data == _RESET:
        return None
    # A kind this process does not know (a newer one, mid-upgrade) has no consumer here.
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise TypeError("a notification is a list of changes")
    known = {k.value for k in ChangeKind}
    return [
        Change(**{k: v for k, v in item.items() if k in _FIELDS})
        for item in data
        if item.get("kind") in known
    ]


def publish(session: Session, changes: list[Change]) -> None:
    """A ``Database.before_commit`` hook: notify other processes, on commit only."""
    session.execute(
        text("SELECT pg_notify(:channel, :payload)"),
        {"channel": CHANNEL, "payload": encode(changes)},
    )


def _conninfo(sqlalchemy_url: str) -> str:
    return (
        make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(hide_password=False)
    )


class ChangeListener:
    """A daemon thread LISTENing for changes committed by any process."""

    def __init__(
        self,
        database_url: str,
        on_changes: Callable[[list[Change]], None],
        on_reset: Callable[[], None],
    ) -> None:
        self._conninfo = _conninfo(database_url)
        self._on_changes = on_changes
        self._on_reset = on_reset
        self._stop = threading.Event()
        self.listening = threading.Event()
        self._thread = threading.Thread(target=self._run, name="promptops-listen", daemon=True)
        # stop() notifies this channel so the listening thread wakes at once instead of at
        # the end of its current wait.
        self._wake = f"promptops_wake_{os.getpid()}_{id(self):x}"

    def start(self) -> ChangeListener:
        """Start listening (no-op while already listening; restartable after stop())."""
        if self._thread.is_alive():
            return self
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="promptops-listen", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if not self._thread.is_alive():
            return
        if self.listening.is_set():
            import psycopg

            try:
                with psycopg.connect(self._conninfo, autocommit=True, connect_timeout=2) as conn:
                    conn.execute(f'NOTIFY "{self._wake}"')
            except Exception:  # the thread still ends within its wait (0.5 s)
                log.debug("could not wake the change listener", exc_info=True)
        self._thread.join(timeout=5)

    def _run(self) -> None:
        import psycopg

        backoff = Backoff(0.1, 5.0)
        while not self._stop.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True) as conn:
                    conn.execute(f"LISTEN {CHANNEL}")
                    conn.execute(f'LISTEN "{self._wake}"')
                    # Whatever was committed while we were not listening is unknown.
                    self._on_reset()
                    self.listening.set()
                    backoff.reset()
                    while not self._stop.is_set():
                        for note in conn.notifies(timeout=0.5):
                            if note.channel == self._wake:
                                break
                            self._dispatch(note.payload)
            except Exception as exc:  # connection lost: reconnect with backoff
                self.listening.clear()
                if self._stop.is_set():
                    return
                log.warning("change listener disconnected (%s); reconnecting", exc)
                self._stop.wait(backoff.next())

    def _dispatch(self, payload: str) -> None:
        try:
            changes = decode(payload)
        except (ValueError, TypeError):
            log.warning("ignoring malformed change notification")
            self._on_reset()
            return
        if changes is None:
            self._on_reset()
        else:
            self._on_changes(changes)


def wire(db: Any, database_url: str, targets: list[Any]) -> ChangeListener | None:
    """Hook publishing into ``db`` and build (not start) the listener for ``targets``
    (objects with ``on_changes(changes)`` and optionally ``clear()``, called when
    notifications may have been missed). None entries are skipped. None on SQLite."""
    if not database_url.startswith("postgresql"):
        return None
    targets = [t for t in targets if t is not None]
    db.before_commit.append(publish)

    def on_changes(changes: list[Change]) -> None:
        deliver(targets, changes)  # each in isolation; a failing one is cleared

    def on_reset() -> None:
        for target in targets:
            clear = getattr(target, "clear", None)
            if clear is None:
                continue
            try:
                clear()
            except Exception:
                log.exception("could not clear %s", type(target).__qualname__)

    return ChangeListener(database_url, on_changes, on_reset)
