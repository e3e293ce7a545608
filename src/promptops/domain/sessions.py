"""Server-side dashboard sessions and personal API tokens of users.

Both are random, high-entropy secrets handed to the user once; only their SHA-256 is stored.
SHA-256 (not bcrypt/argon2) is enough for them: a slow hash protects guessable secrets, and
these are 256-bit (sessions) and ~238-bit (tokens) random values nobody can guess. Looking a
session up is one indexed query, so logout and expiry take effect on the next request, in
every process.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import string
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from promptops.db.models import User, UserSession, UserToken, utcnow
from promptops.domain import audit
from promptops.domain.errors import AuthenticationError, NotFoundError

__all__ = [
    "TOKEN_PATTERN",
    "IssuedToken",
    "count_sessions",
    "create_token",
    "end_session",
    "end_user_sessions",
    "list_tokens",
    "purge_expired",
    "resolve_session",
    "resolve_token",
    "revoke_token",
    "sign_out_others",
    "start_session",
]

Clock = Callable[[], datetime]

TOKEN_PATTERN = re.compile(r"^(po_user_[a-z0-9]{8})_([A-Za-z0-9]{40})$")
_PREFIX_PATTERN = re.compile(r"^po_user_[a-z0-9]{8}$")
_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
# last_seen / last_used are refreshed at most this often (a write per request is wasteful).
TOUCH_INTERVAL = timedelta(minutes=1)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


# ---- sessions ----------------------------------------------------------------------------


def start_session(
    session: Session, user: User, *, hours: float, now: Clock = utcnow
) -> tuple[str, UserSession]:
    """A new session for ``user``: the cookie value (shown once) and its row."""
    token = secrets.token_urlsafe(32)
    at = now()
    row = UserSession(
        token_hash=_digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        created_at=at,
        expires_at=at + timedelta(hours=hours),
        last_seen_at=at,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        f"user:{user.email}",
        "user.signed_in",
        project_id=None,
        target_type="user",
        target=user.email,
    )
    return token, row


def resolve_session(
    session: Session, token: str, *, now: Clock = utcnow
) -> tuple[UserSession, User] | None:
    """The live session and user for a cookie value; None if unknown, expired or disabled."""
    if not token or len(token) > 200:
        return None
    found = session.execute(
        select(UserSession, User)
        .join(User, User.id == UserSession.user_id)
        .where(UserSession.token_hash == _digest(token))
    ).first()
    if found is None:
        return None
    row, user = found
    if row.expires_at <= now() or user.disabled:
        return None
    return row, user


def end_session(session: Session, token: str) -> bool:
    """Delete the session (logout); True when there was one."""
    result = session.execute(delete(UserSession).where(UserSession.token_hash == _digest(token)))
    return bool(getattr(result, "rowcount", 0))


def count_sessions(session: Session, user: User, *, now: Clock = utcnow) -> int:
    """How many live (unexpired) sessions the user has."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(UserSession)
            .where(UserSession.user_id == user.id, UserSession.expires_at > now())
        )
        or 0
    )


def end_user_sessions(session: Session, user: User, *, keep_session_id: int | None = None) -> int:
    """Sign ``user`` out everywhere (but ``keep_session_id``); how many sessions ended."""
    query = delete(UserSession).where(UserSession.user_id == user.id)
    if keep_session_id is not None:
        query = query.where(UserSession.id != keep_session_id)
    return int(getattr(session.execute(query), "rowcount", 0) or 0)


def sign_out_others(session: Session, user: User, *, keep_session_id: int) -> int:
    """The user's "sign out other sessions": all but the one asking end (audited)."""
    ended = end_user_sessions(session, user, keep_session_id=keep_session_id)
    audit.record(
        session,
        f"user:{user.email}",
        "user.signed_out_others",
        project_id=None,
        target_type="user",
        target=user.email,
        after={"sessions_ended": ended},
    )
    return ended


def purge_expired(session: Session, *, now: Clock = utcnow) -> int:
    result = session.execute(delete(UserSession).where(UserSession.expires_at <= now()))
    return int(getattr(result, "rowcount", 0) or 0)


# ---- personal API tokens -----------------------------------------------------------------


class IssuedToken:
    """A freshly created personal token: ``token`` is the only time it is visible."""

    __slots__ = ("record", "token")

    def __init__(self, token: str, record: UserToken) -> None:
        self.token = token
        self.record = record


def create_token(session: Session, user: User, *, name: str | None) -> IssuedToken:
    prefix = "po_user_" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    token = f"{prefix}_{secret}"
    record = UserToken(user_id=user.id, prefix=prefix, token_hash=_digest(token), name=name)
    session.add(record)
    session.flush()
    audit.record(
        session,
        f"user:{user.email}",
        "user_token.created",
        project_id=None,
        target_type="user_token",
        target=prefix,
        after={"name": name},
    )
    return IssuedToken(token, record)


def resolve_token(session: Session, token: str) -> tuple[UserToken, User]:
    """The token's row and user, or an AuthenticationError saying why not."""
    match = TOKEN_PATTERN.match(token)
    if match is None:
        raise AuthenticationError("malformed personal token")
    found = session.execute(
        select(UserToken, User)
        .join(User, User.id == UserToken.user_id)
        .where(UserToken.prefix == match.group(1))
    ).first()
    if found is None or not hmac.compare_digest(found[0].token_hash, _digest(token)):
        raise AuthenticationError("unknown personal token")
    record, user = found
    if record.revoked_at is not None:
        raise AuthenticationError(f"personal token {record.prefix} has been revoked")
    if user.disabled:
        raise AuthenticationError("this user is disabled")
    return record, user


def list_tokens(session: Session, user: User) -> list[UserToken]:
    return list(
        session.scalars(
            select(UserToken).where(UserToken.user_id == user.id).order_by(UserToken.id)
        )
    )


def revoke_token(session: Session, user: User, prefix: str) -> UserToken:
    record = (
        session.scalar(
            select(UserToken).where(UserToken.prefix == prefix, UserToken.user_id == user.id)
        )
        if _PREFIX_PATTERN.match(prefix)
        else None
    )
    if record is None:
        raise NotFoundError(f"you have no personal token {prefix[:40]!r}", field="prefix")
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(
            session,
            f"user:{user.email}",
            "user_token.revoked",
            project_id=None,
            target_type="user_token",
            target=prefix,
        )
    return record
