"""API keys: generation, bcrypt hashing, scoping, listing and revocation.

A key reads ``po_live_<8 chars>_<40 chars>``; the part before the second underscore-group
(``po_live_ab12cd34``) is the *prefix*: stored in clear, unique, shown in lists and in the
audit log. Only a bcrypt hash of the whole key is stored; the key is shown once.

bcrypt costs ~190 ms, so it never runs inside a write transaction (on SQLite that holds the
only write lock): callers make the key with :func:`new_secret` first, then open
``db.write()`` and pass it as ``secret=`` (``rounds=`` without a secret hashes in place and
is only for scripts and tests).

Who stands behind a key (approvals): ``origin_user_id`` is the person who created it, or the
origin of the key that created it (``created_by_key_id``); NULL when no person is behind it
(the instance admin key, bootstrap). See :func:`origin_of`.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass

import bcrypt
from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import ApiKey, Project, utcnow
from promptops.domain import audit, changes
from promptops.domain.access import APPROVER_ROLES, ROLES, Actor, check_environment
from promptops.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError

__all__ = [
    "KEY_PATTERN",
    "IssuedKey",
    "KeySecret",
    "active_prefixes",
    "chain_root",
    "check_create",
    "create_admin_key",
    "create_key",
    "find_by_prefix",
    "generate_key",
    "hash_key",
    "list_keys",
    "new_secret",
    "origin_of",
    "parse_key",
    "revoke_key",
    "verify_key",
]

_ALPHABET = string.ascii_lowercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits
KEY_PATTERN = re.compile(r"^(po_(?:live|admin)_[a-z0-9]{8})_([A-Za-z0-9]{40})$")
PREFIX_PATTERN = re.compile(r"^po_(?:live|admin)_[a-z0-9]{8}$")


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key: ``key`` is the only time the secret is visible."""

    key: str
    record: ApiKey


@dataclass(frozen=True, slots=True)
class KeySecret:
    """A generated key and its bcrypt hash, made before the write transaction opens."""

    key: str
    prefix: str
    key_hash: str


def new_secret(rounds: int, *, admin: bool = False) -> KeySecret:
    """Generate and hash a key (slow: call it outside any write transaction)."""
    key, prefix = generate_key("admin" if admin else "live")
    return KeySecret(key, prefix, hash_key(key, rounds))


def generate_key(kind: str = "live") -> tuple[str, str]:
    """A new random key and its prefix."""
    prefix = f"po_{kind}_" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
    secret = "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))
    return f"{prefix}_{secret}", prefix


def parse_key(key: str) -> str | None:
    """The prefix of a well-formed key, or None."""
    match = KEY_PATTERN.match(key)
    return match.group(1) if match else None


def hash_key(key: str, rounds: int) -> str:
    return bcrypt.hashpw(key.encode(), bcrypt.gensalt(rounds)).decode()


def verify_key(key: str, key_hash: str) -> bool:
    try:
        return bcrypt.checkpw(key.encode(), key_hash.encode())
    except ValueError:
        return False


def find_by_prefix(session: Session, prefix: str) -> ApiKey | None:
    return session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))


def active_prefixes(session: Session, prefixes: list[str]) -> set[str]:
    """Which of ``prefixes`` name keys that exist and are not revoked."""
    found: set[str] = set()
    for start in range(0, len(prefixes), 500):
        chunk = prefixes[start : start + 500]
        query = select(ApiKey.prefix).where(ApiKey.prefix.in_(chunk), ApiKey.revoked_at.is_(None))
        found.update(session.scalars(query))
    return found


def _issue(
    session: Session,
    *,
    project_id: str | None,
    environment: str | None,
    role: str,
    name: str | None,
    creator: Actor | None,
    secret: KeySecret | None,
    rounds: int,
    can_bypass_protection: bool = False,
) -> IssuedKey:
    if secret is None:  # scripts and tests only: the server hashes before the transaction
        secret = new_secret(rounds, admin=role == "admin")
    origin_user_id, created_by_key_id = _origin_for_new_key(session, creator)
    record = ApiKey(
        project_id=project_id,
        prefix=secret.prefix,
        key_hash=secret.key_hash,
        environment=environment,
        role=role,
        name=name,
        created_by=creator.label if creator is not None else "system",
        origin_user_id=origin_user_id,
        created_by_key_id=created_by_key_id,
        can_bypass_protection=can_bypass_protection,
    )
    session.add(record)
    session.flush()
    return IssuedKey(key=secret.key, record=record)


def _origin_for_new_key(session: Session, creator: Actor | None) -> tuple[int | None, int | None]:
    """(origin_user_id, created_by_key_id) of a key ``creator`` makes: a person is the
    origin; a key passes on its own origin."""
    if creator is None:
        return None, None
    if creator.user_id is not None:
        return creator.user_id, None
    if creator.key_id is not None:
        parent = session.get(ApiKey, creator.key_id)
        return (origin_of(session, parent) if parent else None), creator.key_id
    return None, None


_MAX_CHAIN = 64


def origin_of(session: Session, record: ApiKey) -> int | None:
    """The person behind a key, or None. Keys made before migration 0006 have no recorded
    origin: it is read from ``created_by`` (``user:<email>``, or the prefix of the key that
    made it)."""
    seen: set[int] = set()
    current: ApiKey | None = record
    while current is not None and current.id not in seen and len(seen) < _MAX_CHAIN:
        seen.add(current.id)
        if current.origin_user_id is not None:
            return current.origin_user_id
        if current.created_by_key_id is not None:
            current = session.get(ApiKey, current.created_by_key_id)
            continue
        made_by = current.created_by or ""
        if made_by.startswith("user:"):
            from promptops.db.models import User

            return session.scalar(select(User.id).where(User.email == made_by[5:]))
        current = find_by_prefix(session, made_by) if PREFIX_PATTERN.match(made_by) else None
    return None


def chain_root(session: Session, key_id: int) -> int:
    """The first key of the chain of keys that created ``key_id`` (itself when a person or
    the server made it)."""
    seen: set[int] = set()
    current = key_id
    while current not in seen and len(seen) < _MAX_CHAIN:
        seen.add(current)
        record = session.get(ApiKey, current)
        if record is None:
            break
        parent = record.created_by_key_id
        if parent is None and record.origin_user_id is None and record.created_by:
            legacy = (
                find_by_prefix(session, record.created_by)
                if PREFIX_PATTERN.match(record.created_by)
                else None
            )
            parent = legacy.id if legacy else None
        if parent is None:
            break
        current = parent
    return current


def create_key(
    session: Session,
    actor: Actor,
    *,
    environment: str,
    role: str,
    name: str | None = None,
    project_id: str | None = None,
    secret: KeySecret | None = None,
    rounds: int = 12,
    can_bypass_protection: bool = False,
) -> IssuedKey:
    """Create a project key. No escalation: a project key creates keys only for its own
    environment, with a role no higher than its own; the admin creates any. Users need the
    project's admin or owner role. ``can_bypass_protection`` (change protected environments
    without an approval) is granted only by the instance admin or a project owner. The key
    acts for its creator in approvals (see :func:`origin_of`)."""
    check_create(
        actor, environment=environment, role=role, can_bypass_protection=can_bypass_protection
    )
    target_project = actor.project_for(project_id)
    _require_project(session, target_project)
    issued = _issue(
        session,
        project_id=target_project,
        environment=environment,
        role=role,
        name=name,
        creator=actor,
        secret=secret,
        rounds=rounds,
        can_bypass_protection=can_bypass_protection,
    )
    after: dict[str, object] = {"environment": environment, "role": role, "name": name}
    if can_bypass_protection:
        after["can_bypass_protection"] = True
    audit.record(
        session,
        actor,
        "key.created",
        project_id=target_project,
        target_type="api_key",
        target=issued.record.prefix,
        after=after,
    )
    return issued


def check_create(
    actor: Actor, *, environment: str, role: str, can_bypass_protection: bool = False
) -> None:
    """The checks of :func:`create_key` that need no database: routes run them before
    paying for bcrypt, so a caller who may not create keys cannot make the server hash."""
    check_environment(environment)
    if role not in ROLES:
        raise InvalidInputError(
            f"unknown role {role[:40]!r}; expected one of {', '.join(ROLES)}", field="role"
        )
    if not actor.is_admin:
        actor.require_write()
        actor.require_environment(environment)
        if not actor.may_grant(role):
            raise PermissionDeniedError(f"a {actor.role!r} key cannot create a {role!r} key")
        actor.require_member_role(APPROVER_ROLES, "managing API keys")
    if can_bypass_protection and not (actor.is_admin or actor.member_role == "owner"):
        raise PermissionDeniedError(
            "only the instance admin or a project owner can grant can_bypass_protection",
            field="can_bypass_protection",
        )


def create_admin_key(
    session: Session, *, secret: KeySecret | None = None, rounds: int = 12
) -> IssuedKey:
    issued = _issue(
        session,
        project_id=None,
        environment=None,
        role="admin",
        name="instance admin",
        creator=None,
        secret=secret,
        rounds=rounds,
    )
    audit.record(
        session,
        "system",
        "admin_key.created",
        project_id=None,
        target_type="api_key",
        target=issued.record.prefix,
    )
    return issued


def _require_project(session: Session, project_id: str) -> None:
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"project {project_id[:40]!r} not found", field="project_id")


def list_keys(session: Session, actor: Actor, project_id: str | None = None) -> list[ApiKey]:
    target = actor.project_for(project_id)
    query = select(ApiKey).where(ApiKey.project_id == target).order_by(ApiKey.id)
    return list(session.scalars(query))


def revoke_key(
    session: Session, actor: Actor, prefix: str, project_id: str | None = None
) -> ApiKey:
    """Revoke a key (idempotent). A project key revokes keys of its own environment."""
    if not PREFIX_PATTERN.match(prefix):
        raise NotFoundError(f"no key with prefix {prefix[:40]!r}", field="prefix")
    if not actor.is_admin:
        actor.require_write()
        actor.require_member_role(APPROVER_ROLES, "managing API keys")
    target = actor.project_for(project_id)
    record = find_by_prefix(session, prefix)
    if record is None or record.project_id != target:
        raise NotFoundError(f"no key with prefix {prefix!r} in this project", field="prefix")
    if record.environment is not None:
        actor.require_environment(record.environment)
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        audit.record(
            session,
            actor,
            "key.revoked",
            project_id=target,
            target_type="api_key",
            target=prefix,
        )
        changes.record(
            session,
            changes.Change(changes.ChangeKind.KEY_REVOKED, project_id=target, key_prefix=prefix),
        )
    return record
