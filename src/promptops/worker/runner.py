"""The worker loop: claim due delivery jobs, run attempts on a small thread pool.

Embedded (the default), the server starts one in its lifespan and wakes it from the
after-commit listener, so a committed change is on its way within milliseconds. As its own
process (``promptops worker``) it polls every ``PROMPTOPS_WORKER_POLL_SECONDS``; any number
of workers and servers can run against one PostgreSQL database (see :mod:`queue`).
Between jobs the loop sleeps until the next one is due (a retry, or an expiring lease), at
most one poll interval.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from promptops._backoff import Backoff
from promptops.db.models import utcnow
from promptops.db.session import Database
from promptops.domain import log_retention, log_rollups, webhooks
from promptops.domain import secrets as sealed_secrets
from promptops.domain.changes import Change
from promptops.domain.events import EVENTS_APPENDED
from promptops.domain.secretbox import SecretBox, box_from_settings
from promptops.domain.webhooks import JOBS_QUEUED
from promptops.worker import queue
from promptops.worker.delivery import Sender

__all__ = ["Worker", "allow_private"]

log = logging.getLogger("promptops.worker")

_PURGE_EVERY_SECONDS = 3600.0
_ROLL_EVERY_SECONDS = 5.0  # request-log rollups and search text (domain/log_rollups)
_WAKE_KINDS = frozenset({EVENTS_APPENDED, JOBS_QUEUED})


def allow_private(settings: Any) -> bool:
    """Private/loopback webhook targets: the operator's choice, else only in development."""
    chosen = settings.webhook_allow_private
    return bool(chosen) if chosen is not None else settings.mode == "development"


class Worker:
    """Delivers webhooks. ``settings`` is the server's Settings (read at each cycle)."""

    def __init__(
        self,
        db: Database,
        settings: Any,
        *,
        box: SecretBox | None = None,
        name: str | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.box = box or box_from_settings(settings)  # opens webhook signing secrets
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._inflight = 0
        self._next_purge = 0.0
        self._next_roll = 0.0
        self._failures = Backoff(1.0, 10.0)  # consecutive failed cycles (database outage)

    # -- control --------------------------------------------------------------------------

    def start(self) -> None:
        """Run in a background thread (the embedded worker)."""
        self._stop.clear()
        self._thread = threading.Thread(target=self.run, name="promptops-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming and wait (up to ``timeout``) for attempts in flight."""
        self.request_stop()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def request_stop(self) -> None:
        """Ask the loop to end (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    def wake(self) -> None:
        """New jobs may be due: look now instead of at the next poll."""
        self._wake.set()

    def on_changes(self, changes: list[Change]) -> None:
        """A ``Database.listeners`` callback: wake when a commit queued deliveries."""
        if any(c.kind in _WAKE_KINDS for c in changes):
            self._wake.set()

    def clear(self) -> None:
        """Cross-process listeners call this when they may have missed changes: look now."""
        self._wake.set()

    def policy(self) -> queue.Policy:
        s = self.settings
        return queue.Policy(
            schedule=tuple(s.webhook_retry_schedule),
            jitter=s.webhook_retry_jitter,
            disable_after_failures=s.webhook_disable_after_failures,
            disable_after_seconds=s.webhook_disable_after_seconds,
            # A lease must outlast an attempt (connecting and reading are each bounded by
            # the timeout), or a live attempt could be handed to a second worker.
            lease_seconds=max(s.webhook_lease_seconds, 2 * s.webhook_timeout_seconds + 2),
        )

    # -- the loop -------------------------------------------------------------------------

    def _seal_secrets(self) -> None:
        """Seal secrets kept in clear before sealing existed, or sealed with a previous key."""
        try:
            with self.db.write() as session:
                count = webhooks.seal_secrets(session, self.box)
                count += sealed_secrets.reseal(session, self.box)
        except Exception:  # the database may be down at start: the next start does it
            log.exception("sealing stored secrets failed")
            return
        if count:
            log.info("sealed %d stored secret(s) under the current key", count)

    def run(self) -> None:
        """Deliver until :meth:`request_stop` (blocks; the CLI runs it in the main thread)."""
        concurrency = self.settings.webhook_concurrency
        sender = Sender(
            timeout=self.settings.webhook_timeout_seconds,
            allow_private=lambda: allow_private(self.settings),
        )
        pool = ThreadPoolExecutor(concurrency, thread_name_prefix="promptops-delivery")
        log.info("webhook worker %s started", self.name)
        self._seal_secrets()
        self._next_purge = time.monotonic() + 60  # not in the rush of a (re)start
        try:
            while not self._stop.is_set():
                self._wake.clear()
                pause = self._cycle(pool, sender, concurrency)
                if pause > 0:
                    self._wake.wait(pause)
        finally:
            # Attempts in flight finish (each bounded by the timeout); unstarted ones are
            # dropped and claimed again once their lease expires.
            pool.shutdown(wait=True, cancel_futures=True)
            sender.close()
            log.info("webhook worker %s stopped", self.name)

    def _cycle(self, pool: ThreadPoolExecutor, sender: Sender, concurrency: int) -> float:
        poll = float(self.settings.worker_poll_seconds)
        try:
            self._maybe_purge()
            self._maybe_roll()
            with self._lock:
                free = concurrency - self._inflight
            if free <= 0:
                return poll  # a finishing attempt wakes the loop
            due = queue.next_due(self.db)
            self._failures.reset()  # the database answers again
            if due is None:
                return poll
            wait = (due - utcnow()).total_seconds()
            if wait > 0:
                return min(poll, wait)
            jobs = queue.claim(self.db, self.name, free, self.policy(), self.box)
            for job in jobs:
                with self._lock:
                    self._inflight += 1
                pool.submit(self._attempt, sender, job)
            return 0.0 if jobs else min(poll, 0.2)  # none: another worker was faster
        except Exception:  # the loop outlives a database outage
            log.exception("webhook worker %s: cycle failed; retrying", self.name)
            return self._failures.next()

    def _attempt(self, sender: Sender, job: queue.Job) -> None:
        try:
            outcome = sender.send(job)
            queue.finish(self.db, self.name, job, outcome, self.policy())
        except Exception:  # not recorded: the lease expires and the job is retried
            log.exception("webhook worker %s: delivery %s failed", self.name, job.delivery_id)
        finally:
            with self._lock:
                self._inflight -= 1
            self._wake.set()

    def _maybe_purge(self) -> None:
        now = time.monotonic()
        if now < self._next_purge:
            return
        self._next_purge = now + _PURGE_EVERY_SECONDS
        cutoff = utcnow() - timedelta(days=self.settings.event_retention_days)
        removed = queue.purge_events(self.db, cutoff)
        if removed:
            log.info("removed %d events older than %s", removed, cutoff.isoformat())
        self._maintain_logs()

    def _maybe_roll(self) -> None:
        now = time.monotonic()
        if now < self._next_roll:
            return
        self._next_roll = now + _ROLL_EVERY_SECONDS
        self.roll_logs()

    def roll_logs(self) -> None:
        """Fold new request logs into the metric rollups and the search text (a pass of
        at most a few chunks, so that deliveries never wait long; the next goes on)."""
        limit = 4 * log_rollups.CHUNK
        try:
            rolled = log_rollups.roll_up(self.db, limit=limit)
            copied = log_rollups.fill_search(self.db, limit=limit)
        except Exception:  # e.g. the lock timed out behind a long batch: the next cycle
            log.exception("request-log rollups/search copy failed; retrying next cycle")
            return
        if max(rolled, copied) >= limit:  # more to catch up on: the next cycle goes on
            self._next_roll = 0.0

    def _maintain_logs(self) -> None:
        """Request-log partitions ahead (PostgreSQL) and retention (domain/log_retention)."""
        created = log_retention.ensure_partitions(self.db)
        if created:
            log.info("created request-log partitions %s", ", ".join(created))
        days = self.settings.log_retention_days
        if days is not None:
            removed = log_retention.apply_retention(self.db, days)
            if removed:
                log.info("removed %d request logs older than %s days", removed, days)
