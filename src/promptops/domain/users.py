"""People: users (email + argon2id password), their role in each project, and the
:class:`~promptops.domain.access.Actor` a user acts as.

A user acting in project P is an Actor with ``project_id=P``, ``environment=None`` (every
environment), ``role`` from the project role (viewer → read; editor, admin, owner → write),
``member_role`` and ``user_id``; its label, ``user:<email>``, is what deployment history and
the audit log show. The instance admin user is an implicit owner of every project, and acts
as the instance admin (``role="admin"``) when it names no project.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promptops.contract.text import text_problem
from promptops.db.models import Membership, Project, User
from promptops.domain import audit, sessions
from promptops.domain.access import (
    APPROVER_ROLES,
    MEMBER_ROLES,
    Actor,
    Role,
    member_role_grants,
)
from promptops.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = [
    "DEFAULT_HASHER",
    "MAX_EMAIL",
    "MIN_PASSWORD",
    "HashedPassword",
    "actor_for",
    "check_password",
    "create_user",
    "effective_role",
    "find_by_email",
    "get_user",
    "hash_password",
    "list_members",
    "list_users",
    "memberships",
    "normalize_email",
    "password_matches",
    "projects_of",
    "remove_member",
    "require_user",
    "set_disabled",
    "set_member",
    "set_password",
    "user_actor",
    "verify_password",
]

MAX_EMAIL = 190  # "user:<email>" must fit the 200-character actor columns
MIN_PASSWORD = 8
MAX_PASSWORD = 1024
# Loose on purpose for lookups (an address that cannot match is simply nobody) ...
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
# ... and strict for addresses we store (new users, members): a dot-atom local part and a
# domain of dot-separated labels (letters, digits, hyphens; international letters too) with
# at least one dot, or "localhost" (the default first admin, admin@localhost).
_LOCAL = re.compile(r"^[\w!#$%&'*+/=?^`{|}~\-]+(\.[\w!#$%&'*+/=?^`{|}~\-]+)*$")
_LABEL = re.compile(r"^(?!-)[^\W_](?:[\w-]{0,61}[^\W_])?$")

DEFAULT_HASHER = PasswordHasher()


@cache
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    """Verified against when the email is unknown, so that answer takes as long as a wrong
    password does."""
    hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    return hasher.hash("not a real password")


def _valid_address(value: str) -> bool:
    if not _EMAIL.match(value) or len(value) > MAX_EMAIL or not _encodable(value):
        return False
    local, _, domain = value.rpartition("@")
    if len(local) > 64 or not _LOCAL.match(local):
        return False
    labels = domain.split(".")
    if len(labels) < 2 and domain != "localhost":
        return False
    return all(_LABEL.match(label) and "_" not in label for label in labels)


def normalize_email(email: str, field: str = "email") -> str:
    """The one email validator (API users and members, dashboard, CLI): trimmed, lower-case
    ``local@domain.tld`` (or ``@localhost``), or an InvalidInputError naming ``field``."""
    value = email.strip().lower()
    if not _valid_address(value):
        raise InvalidInputError(
            f"invalid email address {email[:60]!r} (expected name@domain.tld, at most"
            f" {MAX_EMAIL} characters)",
            field=field,
        )
    return value


def _encodable(text: str) -> bool:
    return text_problem(text) is None  # the shared rule: no NUL, no lone surrogate


def check_password(password: str, field: str = "password") -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInputError(
            f"password is too short: use at least {MIN_PASSWORD} characters", field=field
        )
    if len(password) > MAX_PASSWORD:
        raise InvalidInputError(f"password is longer than {MAX_PASSWORD} characters", field=field)
    if not _encodable(password):
        raise InvalidInputError("password contains characters that cannot be stored", field=field)
    return password


@dataclass(frozen=True, slots=True)
class HashedPassword:
    """A checked password's argon2 hash, made before the write transaction opens (argon2
    takes tens of milliseconds and must not hold SQLite's write lock)."""

    hash: str


def hash_password(
    password: str, hasher: PasswordHasher = DEFAULT_HASHER, field: str = "password"
) -> HashedPassword:
    return HashedPassword(hasher.hash(check_password(password, field)))


def get_user(session: Session, user_id: int | None) -> User | None:
    return None if user_id is None else session.get(User, user_id)


def find_by_email(session: Session, email: str) -> User | None:
    address = email.strip().lower()
    if not _EMAIL.match(address) or not _encodable(address):
        return None  # cannot be anyone's (and some bytes would upset the database)
    return session.scalar(select(User).where(User.email == address))


def password_matches(
    user: User | None, password: str, hasher: PasswordHasher = DEFAULT_HASHER
) -> bool:
    """True when ``password`` is ``user``'s (disabled or not); takes as long for an unknown
    user (None). Argon2 is slow: call it outside a write transaction."""
    try:
        if user is None:
            dummy = _dummy_hash(hasher.time_cost, hasher.memory_cost, hasher.parallelism)
            hasher.verify(dummy, password)
        else:
            hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError, UnicodeEncodeError):
        return False
    return user is not None


def verify_password(
    user: User | None, password: str, hasher: PasswordHasher = DEFAULT_HASHER
) -> bool:
    """True when ``password`` is ``user``'s and the user may sign in (not disabled)."""
    return password_matches(user, password, hasher) and user is not None and not user.disabled


def create_user(
    session: Session,
    actor: Actor | None,
    *,
    email: str,
    password: str | HashedPassword,
    is_instance_admin: bool = False,
    hasher: PasswordHasher = DEFAULT_HASHER,
) -> User:
    """Create a user. ``actor`` None is the server itself (first start, `promptops users`);
    otherwise only the instance admin creates users. The server passes ``password`` as a
    :class:`HashedPassword` made before the transaction (a plain string is hashed here:
    scripts and tests only)."""
    if actor is not None:
        actor.require_admin()
    address = normalize_email(email)
    if isinstance(password, str):
        password = hash_password(password, hasher)
    if find_by_email(session, address) is not None:
        raise ConflictError(f"a user with email {address!r} already exists", field="email")
    user = User(
        email=address,
        password_hash=password.hash,
        is_instance_admin=is_instance_admin,
        disabled=False,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor or "system",
        "user.created",
        project_id=None,
        target_type="user",
        target=address,
        after={"is_instance_admin": is_instance_admin},
    )
    return user


def set_password(
    session: Session,
    user: User,
    password: str | HashedPassword,
    hasher: PasswordHasher = DEFAULT_HASHER,
    *,
    actor: Actor | str | None = None,
    keep_session_id: int | None = None,
) -> int:
    """Change a password (hashed before the transaction: see :func:`hash_password`) and
    end the user's sessions, all of them or all but ``keep_session_id`` (the one the user
    changed it from). ``actor`` None is the server itself (`promptops users set-password`).
    Returns how many sessions were ended. Personal API tokens are not touched."""
    if isinstance(password, str):
        password = hash_password(password, hasher)
    user.password_hash = password.hash
    ended = sessions.end_user_sessions(session, user, keep_session_id=keep_session_id)
    audit.record(
        session,
        actor or "system",
        "user.password_changed",
        project_id=None,
        target_type="user",
        target=user.email,
        after={"sessions_ended": ended},
    )
    return ended


def _enabled_admins(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(User)
            .where(User.is_instance_admin.is_(True), User.disabled.is_(False))
        )
        or 0
    )


def set_disabled(
    session: Session,
    actor: Actor | None,
    user: User,
    disabled: bool,
    *,
    force: bool = False,
) -> bool:
    """Disable (or enable) a user; True when that changed anything. A disabled user cannot
    sign in, and its sessions are ended at once (its personal tokens and any later session
    lookup refuse it too). Disabling the last enabled instance admin user is refused unless
    ``force`` (the instance admin key, if configured, still works then). ``actor`` None is
    the server itself (`promptops users disable`); otherwise only the instance admin."""
    if actor is not None:
        actor.require_admin()
    if user.disabled == disabled:
        return False
    if disabled and user.is_instance_admin and not force and _enabled_admins(session) < 2:
        raise ConflictError(
            f"{user.email} is the last enabled instance admin user: disabling it leaves no"
            " one who can sign in as instance admin",
            field="force",
        )
    user.disabled = disabled
    ended = sessions.end_user_sessions(session, user) if disabled else 0
    audit.record(
        session,
        actor or "system",
        "user.disabled" if disabled else "user.enabled",
        project_id=None,
        target_type="user",
        target=user.email,
        before={"disabled": not disabled},
        after={"disabled": disabled, "sessions_ended": ended} if disabled else {"disabled": False},
    )
    return True


def require_user(session: Session, email: str) -> User:
    """The user with this email, or a NotFoundError naming it."""
    user = find_by_email(session, email)
    if user is None:
        raise NotFoundError(f"no user with email {email.strip().lower()[:60]!r}", field="email")
    return user


def list_users(session: Session, actor: Actor) -> list[User]:
    actor.require_admin()
    return list(session.scalars(select(User).order_by(User.email)))


def memberships(session: Session) -> dict[int, list[tuple[Project, str]]]:
    """Every user's explicit project roles, by user id (projects in creation order). The
    instance admin is an implicit owner of every project besides these."""
    rows = session.execute(
        select(Membership.user_id, Project, Membership.role)
        .join(Project, Project.id == Membership.project_id)
        .order_by(Project.created_at, Project.id)
    )
    out: dict[int, list[tuple[Project, str]]] = {}
    for user_id, project, role in rows:
        out.setdefault(user_id, []).append((project, role))
    return out


# ---- roles in projects ------------------------------------------------------------------


def effective_role(session: Session, user: User, project_id: str) -> str | None:
    """The user's role in the project (the instance admin: its own role, or owner)."""
    role = session.scalar(
        select(Membership.role).where(
            Membership.user_id == user.id, Membership.project_id == project_id
        )
    )
    if role is None and user.is_instance_admin and session.get(Project, project_id) is not None:
        return "owner"
    return role


def projects_of(session: Session, user: User) -> list[tuple[Project, str]]:
    """The projects the user sees, with the user's role in each."""
    roles = {
        pid: role
        for pid, role in session.execute(
            select(Membership.project_id, Membership.role).where(Membership.user_id == user.id)
        )
    }
    query = select(Project).order_by(Project.created_at, Project.id)
    if not user.is_instance_admin:
        query = query.where(Project.id.in_(list(roles)))
    return [(p, roles.get(p.id, "owner")) for p in session.scalars(query)]


def actor_for(user: User, project_id: str | None, member_role: str | None) -> Actor:
    label = f"user:{user.email}"
    if project_id is None:
        # No project named: the instance admin acts as such; others can only read their own.
        role: Role = "admin" if user.is_instance_admin else "read"
        return Actor(label=label, role=role, user_id=user.id)
    assert member_role is not None
    return Actor(
        label=label,
        role=member_role_grants(member_role),
        project_id=project_id,
        user_id=user.id,
        member_role=member_role,
    )


def user_actor(session: Session, user: User, project_id: str | None) -> Actor:
    """The Actor for ``user`` in ``project_id``; 403 when the user is not a member (the
    same answer whether or not the project exists)."""
    if user.disabled:
        raise PermissionDeniedError("this user is disabled")
    if project_id is None:
        return actor_for(user, None, None)
    role = effective_role(session, user, project_id)
    if role is None:
        raise PermissionDeniedError("you are not a member of this project")
    return actor_for(user, project_id, role)


def list_members(session: Session, project_id: str) -> list[tuple[User, Membership]]:
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.project_id == project_id)
        .order_by(User.email)
    )
    return [(u, m) for u, m in rows]


def _owners(session: Session, project_id: str) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Membership)
            .where(Membership.project_id == project_id, Membership.role == "owner")
        )
        or 0
    )


def _require_manager(actor: Actor, grants: tuple[str | None, ...]) -> None:
    if not actor.is_admin:
        actor.require_project_key()
        if not actor.is_user:
            raise PermissionDeniedError("managing members needs a user or the instance admin key")
        actor.require_member_role(APPROVER_ROLES, "managing members")
        if "owner" in grants and actor.member_role != "owner":
            raise PermissionDeniedError("only an owner grants or removes the owner role")


def set_member(
    session: Session, actor: Actor, project_id: str | None, *, email: str, role: str
) -> Membership:
    """Give an existing user ``role`` in the project (add or change)."""
    target = actor.project_for(project_id)
    if role not in MEMBER_ROLES:
        raise InvalidInputError(
            f"unknown role {role[:40]!r}; expected one of {', '.join(MEMBER_ROLES)}", field="role"
        )
    user = find_by_email(session, normalize_email(email))
    if user is None:
        raise NotFoundError(f"no user with email {email.strip().lower()!r}", field="email")
    row = session.get(Membership, (user.id, target))
    _require_manager(actor, (role, row.role if row else None))
    if session.get(Project, target) is None:
        raise NotFoundError(f"project {target[:40]!r} not found", field="project_id")
    before = row.role if row else None
    if row is not None and row.role == "owner" and role != "owner" and _owners(session, target) < 2:
        raise ConflictError("a project keeps at least one owner", field="role")
    if row is None:
        row = Membership(user_id=user.id, project_id=target, role=role)
        session.add(row)
    else:
        row.role = role
    session.flush()
    if before != role:
        audit.record(
            session,
            actor,
            "member.added" if before is None else "member.changed",
            project_id=target,
            target_type="user",
            target=user.email,
            before={"role": before} if before else None,
            after={"role": role},
        )
    return row


def remove_member(session: Session, actor: Actor, project_id: str | None, *, email: str) -> None:
    target = actor.project_for(project_id)
    user = find_by_email(session, email)
    row = session.get(Membership, (user.id, target)) if user else None
    if user is None or row is None:
        raise NotFoundError(f"{email[:60]!r} is not a member of this project", field="email")
    _require_manager(actor, (row.role,))
    if row.role == "owner" and _owners(session, target) < 2:
        raise ConflictError("a project keeps at least one owner", field="email")
    session.delete(row)
    audit.record(
        session,
        actor,
        "member.removed",
        project_id=target,
        target_type="user",
        target=user.email,
        before={"role": row.role},
    )
