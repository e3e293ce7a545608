"""API-key authentication with a memory of verified keys.

bcrypt costs ~190 ms per check by design, so a key is verified once and then remembered
(by its SHA-256 digest, never in clear) for ``key_cache_seconds``; after that its row is
re-read (no new bcrypt) to notice revocation by another process. Revocation through this
process drops the key at once (see :meth:`KeyAuthenticator.on_changes`).
"""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import update

from promptops.db.models import ApiKey
from promptops.db.session import Database
from promptops.domain import keys
from promptops.domain.access import Actor
from promptops.domain.changes import Change, ChangeKind
from promptops.domain.errors import AuthenticationError

__all__ = ["KeyAuthenticator", "bearer_token"]

_NEGATIVE_MAX = 10_000
_NEGATIVE_SECONDS = 60.0


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
    ) -> None:
        self._db = db
        self._admin_digest = _digest(admin_key) if admin_key else None
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # digest -> (actor, checked_at)
        self._verified: dict[bytes, tuple[Actor, float]] = {}
        self._by_prefix: dict[str, set[bytes]] = {}
        self._rejected: OrderedDict[bytes, float] = OrderedDict()
        self._used: dict[str, float] = {}

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
            return self._remember(digest, Actor(label="admin", role="admin"))
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
        with self._db.read() as session:
            record = keys.find_by_prefix(session, prefix)
        if record is None:
            raise AuthenticationError("unknown API key")
        if record.revoked_at is not None:
            raise AuthenticationError(f"API key {prefix} has been revoked")
        stale = self._verified.get(digest)
        if stale is None and not keys.verify_key(token, record.key_hash):
            self._reject(digest)
            raise AuthenticationError("unknown API key")
        actor = Actor(
            label=record.prefix,
            role=record.role,  # type: ignore[arg-type]
            project_id=record.project_id,
            environment=record.environment,
            key_id=record.id,
            can_bypass_protection=bool(record.can_bypass_protection),
        )
        self._used[actor.label] = time.time()
        return self._remember(digest, actor)

    def _remember(self, digest: bytes, actor: Actor) -> Actor:
        with self._lock:
            self._verified[digest] = (actor, self._clock())
            self._by_prefix.setdefault(actor.label, set()).add(digest)
        return actor

    def _reject(self, digest: bytes) -> None:
        with self._lock:
            self._rejected[digest] = self._clock()
            self._rejected.move_to_end(digest)
            while len(self._rejected) > _NEGATIVE_MAX:
                self._rejected.popitem(last=False)

    def forget(self, prefix: str) -> None:
        """Drop every remembered verification of the key with ``prefix``."""
        with self._lock:
            for digest in self._by_prefix.pop(prefix, ()):
                self._verified.pop(digest, None)

    def clear(self) -> None:
        """Forget every remembered verification (each key is looked at again on next use)."""
        with self._lock:
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
