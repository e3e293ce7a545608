"""The SDK's in-memory prompt cache: entries, single-flight refreshes, invalidation, backoff.

Keys are ``(slug, version)``: ``version`` is ``None`` for "the version active in the API key's
environment" (the environment is fixed by the key, so one client never mixes two) and a
number for a pinned version. Keys are compared whole, so invalidating ``"foo"`` never touches
``"foobar"``.

Reads of a fresh entry are lock-free: :attr:`PromptCache.entries` is a plain dict whose values
are immutable :class:`Entry` objects, replaced whole (a dict assignment is atomic), so the
client's hit path is one ``dict.get`` on a tuple, one clock call and one comparison. Every
write goes through the lock.

Time comes from an injectable ``clock`` (``time.monotonic`` by default) so tests can move it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from promptops._backoff import Backoff as _SharedBackoff
from promptops.sdk.prompt import Prompt

__all__ = ["Backoff", "Entry", "Flight", "Key", "PromptCache"]

Key = tuple[str, int | None]
Clock = Callable[[], float]

FOREVER = math.inf


class Entry:
    """One cached prompt. Immutable by convention: replace it, never change it in place.

    ``expires`` is a ``clock()`` reading (``inf`` for pinned versions); ``etag`` is what the
    server sent (sent back as ``If-None-Match``); ``payload`` is the server's JSON (kept for
    the snapshot file). ``prompt`` is what readers get, already flagged ``is_stale`` when the
    entry is being served past a failed revalidation.
    """

    __slots__ = ("etag", "expires", "payload", "prompt")

    def __init__(
        self, prompt: Prompt, expires: float, etag: str | None, payload: dict[str, Any]
    ) -> None:
        self.prompt = prompt
        self.expires = expires
        self.etag = etag
        self.payload = payload

    def renewed(self, expires: float, *, stale: bool = False) -> Entry:
        """The same value with a new expiry, flagged stale or not."""
        return Entry(self.prompt.with_flags(is_stale=stale), expires, self.etag, self.payload)

    def __repr__(self) -> str:
        return f"Entry({self.prompt.slug!r} v{self.prompt.version}, expires={self.expires})"


class Flight:
    """A fetch in progress for one key. Whoever started it is the only one to fetch; the
    others either serve the old entry or (on a miss) wait on ``event`` and read ``outcome``.
    ``event`` is a ``threading.Event`` or an ``asyncio.Event``, chosen by the client."""

    __slots__ = ("event", "generation", "key", "outcome")

    def __init__(self, key: Key, generation: int, event: Any) -> None:
        self.key = key
        self.generation = generation
        self.event = event
        self.outcome: Any = None


class PromptCache:
    """The store behind one client."""

    def __init__(self, clock: Clock = time.monotonic, pinned_max: int = 1000) -> None:
        self.clock = clock
        # Read without the lock by the hit path; written only under the lock.
        self.entries: dict[Key, Entry] = {}
        # Pinned versions never expire, so they are capped: past ``pinned_max`` the one
        # stored longest ago is dropped (hits do not reorder: the hit path takes no lock).
        self.pinned_max = pinned_max
        self._pinned: OrderedDict[Key, None] = OrderedDict()
        self.pinned_evicted = 0
        self._lock = threading.Lock()
        self._flights: dict[Key, Flight] = {}
        # Invalidation generations: a fetch that started before an invalidation of its slug
        # must not store what it loaded (it may predate the change that caused the
        # invalidation).
        self._generation = 0
        self._cleared_at = 0
        self._dropped_at: dict[str, int] = {}

    def get(self, key: Key) -> Entry | None:
        return self.entries.get(key)

    def _after_fork(self) -> None:
        """In a forked child: the lock may have been held by a thread that is gone, and
        fetches in flight will never finish here."""
        self._lock = threading.Lock()
        self._flights = {}

    def begin(self, key: Key, make_event: Callable[[], Any]) -> tuple[Flight, bool]:
        """Start a fetch for ``key`` unless one is running: ``(flight, started_here)``."""
        with self._lock:
            flight = self._flights.get(key)
            if flight is not None:
                return flight, False
            flight = Flight(key, self._generation, make_event())
            self._flights[key] = flight
            return flight, True

    def finish(self, flight: Flight, outcome: Any) -> None:
        """End ``flight`` with ``outcome`` (the caller then sets ``flight.event``)."""
        with self._lock:
            flight.outcome = outcome
            if self._flights.get(flight.key) is flight:
                del self._flights[flight.key]

    def in_flight(self) -> int:
        with self._lock:
            return len(self._flights)

    def store(self, key: Key, entry: Entry, flight: Flight | None = None) -> bool:
        """Store ``entry``; refused (False) if ``key`` was invalidated after ``flight``
        began."""
        with self._lock:
            if flight is not None and flight.generation < max(
                self._cleared_at, self._dropped_at.get(key[0], 0)
            ):
                return False
            self.entries[key] = entry
            self._track(key)
            return True

    def _track(self, key: Key) -> None:
        """Note a pinned key as just stored; drop the oldest past the cap (lock held)."""
        if key[1] is None:
            return
        pinned = self._pinned
        pinned[key] = None
        pinned.move_to_end(key)
        while len(pinned) > self.pinned_max:
            old, _ = pinned.popitem(last=False)
            self.entries.pop(old, None)
            self.pinned_evicted += 1

    def push(self, key: Key, entry: Entry) -> None:
        """Store a value the server pushed: newer than anything a fetch already running for
        the slug could bring back, so such a fetch will not overwrite it."""
        with self._lock:
            self._generation += 1
            self._dropped_at[key[0]] = self._generation
            self.entries[key] = entry
            self._track(key)

    def evict(self, key: Key) -> None:
        with self._lock:
            self.entries.pop(key, None)
            self._pinned.pop(key, None)

    def invalidate(self, slug: str | None = None) -> int:
        """Drop every entry of ``slug`` (all its versions), or everything when ``None``.

        Exact match on the slug: ``invalidate("foo")`` keeps ``"foobar"``. Returns how many
        entries were dropped.
        """
        with self._lock:
            self._generation += 1
            if slug is None:
                dropped = len(self.entries)
                self.entries.clear()
                self._pinned.clear()
                self._cleared_at = self._generation
                self._dropped_at.clear()
                return dropped
            keys = [k for k in self.entries if k[0] == slug]
            for k in keys:
                del self.entries[k]
                self._pinned.pop(k, None)
            self._dropped_at[slug] = self._generation
            return len(keys)

    def __len__(self) -> int:
        return len(self.entries)

    def __contains__(self, key: object) -> bool:
        return key in self.entries


class Backoff:
    """When the server is unavailable, how long to leave it alone.

    One per client: a dead server is dead for every prompt, so after a failure no read
    touches the network until ``until``. The wait is drawn with full jitter
    (:mod:`promptops._backoff`) from ``[0, first]`` after the first failure, the ceiling
    doubling on each further failure up to ``cap``, so processes that lost the server
    together do not come back together. Reads in the meantime serve what is cached.
    """

    def __init__(
        self, first: float = 1.0, cap: float = 60.0, rand: Callable[[], float] | None = None
    ) -> None:
        self._delays = _SharedBackoff(first, max(cap, first), rand=rand)
        self.first = self._delays.first
        self.cap = self._delays.cap
        self.until = -math.inf
        self.cause: BaseException | None = None

    @property
    def failures(self) -> int:
        return self._delays.failures

    def active(self, now: float) -> bool:
        return now < self.until

    def failed(self, now: float, cause: BaseException) -> float:
        """Record a failure at ``now``; returns the end of the wait."""
        self.cause = cause
        self.until = now + self._delays.next()
        return self.until

    def succeeded(self) -> bool:
        """Record a success; True if this ends an outage."""
        self.cause = None
        self.until = -math.inf
        return self._delays.reset()
