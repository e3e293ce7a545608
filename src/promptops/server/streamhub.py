"""Which ``GET /v1/stream`` connections are open, by project and by credential.

The hub wakes the connections of a project when events are appended, and ends the
connections of a credential that stopped being valid:
- at once, when a ``key_revoked`` change arrives: from this process's commits
  (``Database.listeners``) or, on PostgreSQL, from other processes' (``server.notify``);
- within ``recheck_seconds`` otherwise (a lost notification, a change made behind the
  server's back): a thread re-checks every open stream's credential against the database.
Only project API keys can open a stream (it is one environment's feed; people act in every
environment and are refused), so a credential is a key prefix.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from dataclasses import dataclass, field

from promptops.db.session import Database
from promptops.domain import keys
from promptops.domain.changes import Change, ChangeKind

__all__ = ["StreamHub", "Subscription"]

log = logging.getLogger("promptops.server")


@dataclass(eq=False)
class Subscription:
    """One open stream: woken (``wake``) to re-read, or ended (``ended``) for good."""

    project_id: str
    credential: str  # the key prefix
    loop: asyncio.AbstractEventLoop
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    ended: str | None = None  # why: "revoked" | "shutdown"

    def poke(self) -> None:
        # A closed loop means that connection is gone.
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.wake.set)

    def end(self, reason: str) -> None:
        if self.ended is None:
            self.ended = reason
        self.poke()


class StreamHub:
    """Per process. Thread-safe: changes arrive on request threads and the listener's."""

    def __init__(self, db: Database | None = None, *, recheck_seconds: float = 5.0) -> None:
        self._db = db
        self.recheck_seconds = recheck_seconds
        self._lock = threading.Lock()
        self._by_project: dict[str, set[Subscription]] = {}
        self._by_credential: dict[str, set[Subscription]] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- connections -------------------------------------------------------------------

    def open(self, project_id: str, credential: str) -> Subscription:
        sub = Subscription(project_id, credential, asyncio.get_running_loop())
        with self._lock:
            self._by_project.setdefault(project_id, set()).add(sub)
            self._by_credential.setdefault(credential, set()).add(sub)
        return sub

    def close(self, sub: Subscription) -> None:
        with self._lock:
            for index, name in (
                (self._by_project, sub.project_id),
                (self._by_credential, sub.credential),
            ):
                subs = index.get(name)
                if subs is not None:
                    subs.discard(sub)
                    if not subs:
                        del index[name]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(s) for s in self._by_project.values())

    # -- change consumer (Database.listeners, server.notify) -----------------------------

    def on_changes(self, changes: list[Change]) -> None:
        revoked = {
            c.key_prefix for c in changes if c.kind == ChangeKind.KEY_REVOKED and c.key_prefix
        }
        if revoked:
            self.end_credentials(revoked)
        projects = {c.project_id for c in changes if c.kind == ChangeKind.EVENTS_APPENDED}
        if projects:
            with self._lock:
                targets = [s for p in projects for s in self._by_project.get(p, ())]
            for sub in targets:
                sub.poke()

    def clear(self) -> None:
        """Changes may have been missed: every stream re-reads, and credentials are
        re-checked now rather than at the next period."""
        with self._lock:
            targets = [s for subs in self._by_project.values() for s in subs]
        for sub in targets:
            sub.poke()
        self.recheck()

    def end_credentials(self, credentials: set[str], reason: str = "revoked") -> int:
        with self._lock:
            targets = [s for c in credentials for s in self._by_credential.get(c, ())]
        for sub in targets:
            sub.end(reason)
        return len(targets)

    # -- the backstop --------------------------------------------------------------------

    def recheck(self) -> int:
        """End the streams whose key is revoked or gone; returns how many ended."""
        if self._db is None:
            return 0
        with self._lock:
            held = list(self._by_credential)
        if not held:
            return 0
        try:
            with self._db.read() as session:
                valid = keys.active_prefixes(session, held)
        except Exception:  # the database is away: try again at the next period
            log.exception("could not re-check the credentials of open streams")
            return 0
        return self.end_credentials(set(held) - valid)

    def start(self) -> None:
        if self._db is None or (self._thread is not None and self._thread.is_alive()):
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="promptops-streams", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self.recheck_seconds):
            self.recheck()
