"""People on the server: sign-in with rate limiting, session cookies, personal tokens.

How a request is attributed to a user:
- ``Authorization: Bearer po_user_…`` (a personal token) → that user;
- no ``Authorization`` header and a ``promptops_session`` cookie → the signed-in user. A
  state-changing API request made this way must also send ``X-CSRF-Token`` (the session's
  CSRF token, which the dashboard puts in every page), or it is refused (403).
A user names the project it acts in with the ``X-PromptOps-Project`` header; it must be a
member (403 otherwise). Without the header only project-less calls work (``/v1/me``; the
instance admin user can also do what the instance admin key does).

The login limiter is in-process: with several server processes each counts on its own, so
the effective limit is multiplied by the number of processes (see docs/dashboard.md).
"""

from __future__ import annotations

import hmac
import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from fastapi import Request
from sqlalchemy import update

from promptops.db.models import User, UserSession, UserToken, utcnow
from promptops.db.session import Database
from promptops.domain import sessions, users
from promptops.domain.access import Actor
from promptops.domain.errors import (
    AuthenticationError,
    ConflictError,
    PermissionDeniedError,
    RateLimitedError,
)
from promptops.server.config import Settings

__all__ = [
    "CSRF_HEADER",
    "PROJECT_HEADER",
    "SESSION_COOKIE",
    "LoginLimiter",
    "RateLimitedError",
    "SignedIn",
    "UserAuthenticator",
]

SESSION_COOKIE = "promptops_session"
PROJECT_HEADER = "X-PromptOps-Project"
CSRF_HEADER = "X-CSRF-Token"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_MAX_TRACKED = 50_000


class LoginLimiter:
    """At most ``max_failures`` failed sign-ins per (email, client address) per window."""

    def __init__(
        self,
        max_failures: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_failures = max_failures
        self.window = window_seconds
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.get(key, deque())
        while times and now - times[0] >= self.window:
            times.popleft()
        return times

    def retry_after(self, email: str, address: str) -> float | None:
        """Seconds until another attempt is allowed, or None when it is allowed now."""
        now = self.clock()
        with self._lock:
            times = self._recent((email, address), now)
            if len(times) < self.max_failures:
                return None
            return self.window - (now - times[0])

    def failed(self, email: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= _MAX_TRACKED:  # bounded memory under a spray
                for key in [k for k, v in self._failures.items() if not self._recent(k, now)]:
                    del self._failures[key]
            times = self._recent((email, address), now)
            times.append(now)
            self._failures[(email, address)] = times

    def succeeded(self, email: str, address: str) -> None:
        with self._lock:
            self._failures.pop((email, address), None)


@dataclass(frozen=True)
class SignedIn:
    """A live dashboard session."""

    user: User
    session_id: int
    csrf_token: str
    expires_at: datetime


class UserAuthenticator:
    def __init__(
        self, db: Database, settings: Settings, *, now: Callable[[], datetime] = utcnow
    ) -> None:
        self.db = db
        self.settings = settings
        self.now = now  # tests move the clock to expire sessions
        self.hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
        )
        self.limiter = LoginLimiter(settings.login_max_failures, settings.login_window_seconds)

    # -- sign in / out -------------------------------------------------------------------

    def _refuse_if_limited(self, key: tuple[str, str], what: str, field: str) -> None:
        """429 (with Retry-After) while ``key`` has failed too often in the window."""
        wait = self.limiter.retry_after(*key)
        if wait is not None:
            minutes = max(1, math.ceil(wait / 60))
            raise RateLimitedError(
                f"{what}; try again in {minutes} minute{'s' if minutes > 1 else ''}",
                retry_after=math.ceil(wait),
                field=field,
            )

    def login(self, email: str, password: str, address: str) -> tuple[str, SignedIn]:
        """Check the password (rate-limited) and start a session: (cookie value, session)."""
        key = email.strip().lower()
        self._refuse_if_limited(
            (key, address),
            "too many failed sign-in attempts for this email from your address",
            "email",
        )
        with self.db.read() as session:
            user = users.find_by_email(session, key)
        if not users.password_matches(user, password, self.hasher):
            self.limiter.failed(key, address)
            raise AuthenticationError("wrong email or password", field="password")
        assert user is not None
        self.limiter.succeeded(key, address)
        if user.disabled:  # said only to someone who knows the password
            raise AuthenticationError(
                "this user is disabled; ask an instance admin to enable it", field="email"
            )
        with self.db.write() as session:
            sessions.purge_expired(session, now=self.now)  # housekeeping, at each sign-in
            fresh = session.get(User, user.id)
            assert fresh is not None
            token, row = sessions.start_session(
                session, fresh, hours=self.settings.session_hours, now=self.now
            )
            return token, SignedIn(fresh, row.id, row.csrf_token, row.expires_at)

    def signed_in(self, token: str | None) -> SignedIn | None:
        """The live session of a cookie value, or None (unknown, expired, logged out)."""
        if not token:
            return None
        with self.db.read() as session:
            found = sessions.resolve_session(session, token, now=self.now)
        if found is None:
            return None
        row, user = found
        now = self.now()
        if now - row.last_seen_at > sessions.TOUCH_INTERVAL:
            with self.db.write() as session:
                session.execute(
                    update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now)
                )
        return SignedIn(user, row.id, row.csrf_token, row.expires_at)

    def logout(self, token: str | None) -> None:
        if token:
            with self.db.write() as session:
                sessions.end_session(session, token)

    # -- the account page ------------------------------------------------------------------

    def change_password(self, signed: SignedIn, current: str, new: str, address: str) -> int:
        """Change the signed-in user's password, given the current one (rate-limited like
        sign-in, in a bucket of its own); ends the user's other sessions and keeps this one.
        Returns how many sessions were ended. Argon2 runs before the write transaction."""
        key = (f"password-change:{signed.user.id}", address)
        self._refuse_if_limited(key, "too many wrong current passwords", "current_password")
        users.check_password(new, "new_password")  # the rules first: no argon2 for nothing
        with self.db.read() as session:
            user = session.get(User, signed.user.id)
            assert user is not None
        if not users.password_matches(user, current, self.hasher):
            self.limiter.failed(*key)
            raise AuthenticationError(
                "your current password is wrong; nothing was changed", field="current_password"
            )
        self.limiter.succeeded(*key)
        hashed = users.hash_password(new, self.hasher, field="new_password")
        with self.db.write() as session:
            fresh = session.get(User, user.id)
            if fresh is None or fresh.disabled:
                raise AuthenticationError("this user is disabled or gone; sign in again")
            if fresh.password_hash != user.password_hash:
                raise ConflictError(
                    "your password was changed meanwhile; nothing was changed",
                    field="current_password",
                )
            return users.set_password(
                session,
                fresh,
                hashed,
                actor=f"user:{fresh.email}",
                keep_session_id=signed.session_id,
            )

    def sign_out_others(self, signed: SignedIn) -> int:
        """End the user's sessions but this one; how many were ended."""
        with self.db.write() as session:
            user = session.get(User, signed.user.id)
            assert user is not None
            return sessions.sign_out_others(session, user, keep_session_id=signed.session_id)

    # -- the API ---------------------------------------------------------------------------

    def api_actor(self, request: Request) -> Actor | None:
        """The user a request comes from, or None when it is not a person's request (then
        the API-key authenticator takes over)."""
        header = request.headers.get("authorization")
        project = request.headers.get(PROJECT_HEADER) or None
        if header is not None:
            scheme, _, token = header.partition(" ")
            token = token.strip()
            if scheme.lower() != "bearer" or not token.startswith("po_user_"):
                return None
            return self._token_actor(token, project)
        signed = self.signed_in(request.cookies.get(SESSION_COOKIE))
        if signed is None:
            if request.cookies.get(SESSION_COOKIE):
                raise AuthenticationError("your session has expired or ended; sign in again")
            return None
        if request.method not in _SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), signed.csrf_token.encode()):
                raise PermissionDeniedError(
                    f"a change made with the session cookie must send the {CSRF_HEADER} header"
                    " (missing or wrong)"
                )
        with self.db.read() as session:
            return users.user_actor(session, signed.user, project)

    def _token_actor(self, token: str, project: str | None) -> Actor:
        with self.db.read() as session:
            record, user = sessions.resolve_token(session, token)
            actor = users.user_actor(session, user, project)
        now = self.now()
        if record.last_used_at is None or now - record.last_used_at > sessions.TOUCH_INTERVAL:
            with self.db.write() as session:
                session.execute(
                    update(UserToken).where(UserToken.id == record.id).values(last_used_at=now)
                )
        return actor
