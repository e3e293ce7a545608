"""API-key authentication with a memory of verified keys.

bcrypt costs ~190 ms per check by design, so a key is verified once and then remembered
(by its SHA-256 digest, never in clear) for ``key_cache_seconds``; after that its row is
re-read (no new bcrypt) to notice revocation by another process. Revocation through this
process drops the key at once (see :meth:`KeyAuthenticator.on_changes`).

A revocation can arrive while a key is being verified (bcrypt runs between the row read and
remembering the result): a generation counter per prefix (and one for :meth:`clear`), read
before the row, lets :meth:`_remember` store only when no forget/clear happened since; a
verification that raced one reads the row again (no bcrypt) and so sees the revocation.

bcrypt as a denial-of-service lever: a token whose prefix is unknown or revoked is refused
after one indexed read, without bcrypt; the same wrong token is refused from memory for a
minute; and failed checks are rate-limited per prefix by a token bucket (``max_failures``
per ``failure_window`` seconds, refilled continuously). Over the limit, an attempt with that
prefix is refused with 429 and ``Retry-After`` without bcrypt, unless its digest is the one
already verified for the prefix in this process (remembered until the key is revoked, also
across :meth:`clear`): the holder of a key that was used here keeps working while someone
sprays guesses at its prefix. A key not yet verified by this process (e.g. just after a
restart) can be delayed by such a spray until the bucket refills; it is never locked out
for longer than that. Prefixes are not secret, so a spray over many real prefixes costs at
most ``max_failures`` bcrypt checks per prefix per window.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from promptops.db.models import ApiKey
from promptops.db.session import Database
from promptops.domain import keys
from promptops.domain.access import Actor
from promptops.domain.changes import Change, ChangeKind
from promptops.domain.errors import AuthenticationError, RateLimitedError

__all__ = ["KeyAuthenticator", "bearer_token"]

_NEGATIVE_MAX = 10_000
_NEGATIVE_SECONDS = 60.0
_MAX_BUCKETS = 50_000
_RACE_RETRIES = 3


def bearer_token(header: str | None) -> str:
    """The key in an ``Authorization: Bearer <key>`` header, or an AuthenticationError."""
    if not header:
        raise AuthenticationError("missing API key: send 'Authorization: Bearer <key>'")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthenticationError("malformed Authorization header: expected 'Bearer <key>'")
    return token


class KeyAuthenticator:
    def __init__(
        self,
        db: Database,
        *,
        admin_key: str | None = None,
        cache_seconds: float = 300.0,
        clock: Any = time.monotonic,
        max_failures: int = 10,
        failure_window: float = 60.0,
        verify: Callable[[str, str], bool] = keys.verify_key,
    ) -> None:
        self._db = db
        self._admin_digest = _digest(admin_key) if admin_key else None
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # The bcrypt check (a seam: tests wrap it to count calls or to act mid-check).
        self.verify = verify
        # digest -> (actor, checked_at)
        self._verified: dict[bytes, tuple[Actor, float]] = {}
        self._by_prefix: dict[str, set[bytes]] = {}
        self._rejected: OrderedDict[bytes, float] = OrderedDict()
        self._used: dict[str, float] = {}
        # Generations: clear() bumps the epoch, forget(prefix) bumps that prefix's count.
        self._epoch = 0
        self._forgotten: dict[str, int] = {}
        # prefix -> the digest verified for it (kept across clear(), dropped by forget()).
        self._known: dict[str, bytes] = {}
        # prefix -> (tokens left, updated at): the bucket of failed bcrypt checks.
        self._max_failures = max_failures
        self._refill = max_failures / failure_window
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    # -- fast path (no I/O) ------------------------------------------------------------

    def cached(self, token: str) -> Actor | None:
        """The actor for a key verified recently, without I/O; None when unknown/expired."""
        entry = self._verified.get(_digest(token))
        if entry is None or self._clock() - entry[1] > self._cache_seconds:
            return None
        actor = entry[0]
        self._used[actor.label] = time.time()
        return actor

    # -- slow path (database, bcrypt) --------------------------------------------------

    def authenticate(self, token: str) -> Actor:
        """Verify ``token`` (bcrypt on first sight) and return its actor."""
        actor = self.cached(token)
        if actor is not None:
            return actor
        digest = _digest(token)
        if self._admin_digest is not None and hmac.compare_digest(digest, self._admin_digest):
            admin = Actor(label="admin", role="admin")
            self._remember(digest, admin, self._generation(admin.label))
            return admin
        if token.startswith("po_user_"):  # only the SDK read path gets here with one
            raise AuthenticationError(
                "a personal user token cannot read the active prompt; use a project API key"
                " (its environment decides which version is active)"
            )
        prefix = keys.parse_key(token)
        if prefix is None:
            raise AuthenticationError("malformed API key")
        rejected_at = self._rejected.get(digest)
        if rejected_at is not None and self._clock() - rejected_at < _NEGATIVE_SECONDS:
            raise AuthenticationError("unknown API key")
        actor = None
        checked = self._known.get(prefix) == digest or digest in self._verified
        for _ in range(_RACE_RETRIES):
            generation = self._generation(prefix)  # before the row read: see _remember
            with self._db.read() as session:
                record = keys.find_by_prefix(session, prefix)
            if record is None:
                raise AuthenticationError("unknown API key")
            if record.revoked_at is not None:
                raise AuthenticationError(f"API key {prefix} has been revoked")
            if not checked:  # bcrypt: once per token (a key's hash never changes)
                self._check_bucket(prefix)
                if not self.verify(token, record.key_hash):
                    self._failed(prefix)
                    self._reject(digest)
                    raise AuthenticationError("unknown API key")
                checked = True
            actor = Actor(
                label=record.prefix,
                role=record.role,  # type: ignore[arg-type]
                project_id=record.project_id,
                environment=record.environment,
                key_id=record.id,
                can_bypass_protection=bool(record.can_bypass_protection),
            )
            self._used[actor.label] = time.time()
            if self._remember(digest, actor, generation):
                return actor
            # A forget/clear ran since the row read (a revocation?): read the row again.
        assert actor is not None
        return actor  # raced every time: answer this request, remember nothing

    def _generation(self, prefix: str) -> tuple[int, int]:
        return self._epoch, self._forgotten.get(prefix, 0)

    def _remember(self, digest: bytes, actor: Actor, generation: tuple[int, int]) -> bool:
        """Store a verification, only if nothing was forgotten since ``generation`` (read
        before the key's row was)."""
        with self._lock:
            if generation != self._generation(actor.label):
                return False
            self._verified[digest] = (actor, self._clock())
            self._by_prefix.setdefault(actor.label, set()).add(digest)
            self._known[actor.label] = digest
        return True

    def _check_bucket(self, prefix: str) -> None:
        """429 without bcrypt when ``prefix`` has used up its failed checks."""
        with self._lock:
            tokens = self._tokens(prefix)
        if tokens < 1:
            wait = max(1, math.ceil((1 - tokens) / self._refill))
            raise RateLimitedError(
                f"too many failed attempts with API key {prefix}; retry in {wait} s",
                retry_after=wait,
            )

    def _tokens(self, prefix: str) -> float:
        entry = self._buckets.get(prefix)
        if entry is None:
            return float(self._max_failures)
        left, at = entry
        return min(float(self._max_failures), left + (self._clock() - at) * self._refill)

    def _failed(self, prefix: str) -> None:
        with self._lock:
            self._buckets[prefix] = (self._tokens(prefix) - 1, self._clock())
            self._buckets.move_to_end(prefix)
            while len(self._buckets) > _MAX_BUCKETS:
                self._buckets.popitem(last=False)

    def _reject(self, digest: bytes) -> None:
        with self._lock:
            self._rejected[digest] = self._clock()
            self._rejected.move_to_end(digest)
            while len(self._rejected) > _NEGATIVE_MAX:
                self._rejected.popitem(last=False)

    def forget(self, prefix: str) -> None:
        """Drop every remembered verification of the key with ``prefix``."""
        with self._lock:
            self._forgotten[prefix] = self._forgotten.get(prefix, 0) + 1
            self._known.pop(prefix, None)
            for digest in self._by_prefix.pop(prefix, ()):
                self._verified.pop(digest, None)

    def clear(self) -> None:
        """Forget every remembered verification (each key is looked at again on next use)."""
        with self._lock:
            self._epoch += 1
            self._verified.clear()
            self._by_prefix.clear()

    def on_changes(self, changes: list[Change]) -> None:
        for change in changes:
            if change.kind == ChangeKind.KEY_REVOKED and change.key_prefix:
                self.forget(change.key_prefix)

    def flush_last_used(self) -> int:
        """Write remembered last-use times to the database; returns how many keys."""
        with self._lock:
            used, self._used = self._used, {}
        if not used:
            return 0
        with self._db.write() as session:
            for prefix, at in used.items():
                session.execute(
                    update(ApiKey)
                    .where(ApiKey.prefix == prefix)
                    .values(last_used_at=_from_epoch(at))
                )
        return len(used)


def _digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def _from_epoch(at: float) -> datetime:
    return datetime.fromtimestamp(at, UTC)
