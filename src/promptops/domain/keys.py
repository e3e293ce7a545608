"""API keys: generation, bcrypt hashing, scoping, listing and revocation.

A key reads ``po_live_<8 chars>_<40 chars>``; the part before the second underscore-group
(``po_live_ab12cd34``) is the *prefix*: stored in clear, unique, shown in lists and in the
audit log. Only a bcrypt hash of the whole key is stored; the key is shown once.
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
    "active_prefixes",
    "create_admin_key",
    "create_key",
    "find_by_prefix",
    "generate_key",
    "hash_key",
    "list_keys",
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
    created_by: str | None,
    rounds: int,
    can_bypass_protection: bool = False,
) -> IssuedKey:
    key, prefix = generate_key("admin" if role == "admin" else "live")
    record = ApiKey(
        project_id=project_id,
        prefix=prefix,
        key_hash=hash_key(key, rounds),
        environment=environment,
        role=role,
        name=name,
        created_by=created_by,
        can_bypass_protection=can_bypass_protection,
    )
    session.add(record)
    session.flush()
    return IssuedKey(key=key, record=record)


def create_key(
    session: Session,
    actor: Actor,
    *,
    environment: str,
    role: str,
    name: str | None = None,
    project_id: str | None = None,
    rounds: int = 12,
    can_bypass_protection: bool = False,
) -> IssuedKey:
    """Create a project key. No escalation: a project key creates keys only for its own
    environment, with a role no higher than its own; the admin creates any. Users need the
    project's admin or owner role. ``can_bypass_protection`` (change protected environments
    without an approval) is granted only by the instance admin or a project owner."""
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
    target_project = actor.project_for(project_id)
    _require_project(session, target_project)
    issued = _issue(
        session,
        project_id=target_project,
        environment=environment,
        role=role,
        name=name,
        created_by=actor.label,
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


def create_admin_key(session: Session, *, rounds: int) -> IssuedKey:
    issued = _issue(
        session,
        project_id=None,
        environment=None,
        role="admin",
        name="instance admin",
        created_by="system",
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
