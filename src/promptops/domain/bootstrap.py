"""First-start set-up: the instance admin key, the instance admin user and the demo
project (each idempotent).

:func:`prepare` makes the slow hashes (bcrypt keys, the argon2 password) of what is
:func:`missing` (looked at in a read session, closed before hashing), before
``db.write()``; the ``ensure_*`` functions then only store them (another process may have
done it meanwhile: then the hashes go unused)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import ApiKey, InstanceSetting, Membership, User
from promptops.domain import keys, projects, prompts, users, versions
from promptops.domain.access import Actor

__all__ = [
    "AdminUser",
    "DemoProject",
    "Missing",
    "Prepared",
    "ensure_admin_key",
    "ensure_admin_user",
    "ensure_demo_project",
    "missing",
    "prepare",
]

_DEMO_FLAG = "demo_project_id"
DEMO_SLUG = "onboarding-email"


@dataclass(frozen=True)
class DemoProject:
    project_id: str
    write_key: str  # dev, write
    read_key: str  # dev, read: what an application embeds
    # A key is scoped to one environment: promoting to staging or production (and rolling
    # back there) takes a write key of that environment.
    staging_write_key: str
    production_write_key: str


@dataclass(frozen=True)
class Prepared:
    """Hashes made before the write transaction (None: not needed, it already exists)."""

    admin_key: keys.KeySecret | None = None
    admin_password: users.HashedPassword | None = None
    generated_password: str | None = None  # the clear text of admin_password, when generated
    # (dev write, dev read, staging write, production write)
    demo_keys: tuple[keys.KeySecret, ...] | None = None


@dataclass(frozen=True)
class Missing:
    """What first start still has to create (looked at in a read session)."""

    admin_key: bool
    admin_user: bool
    demo: bool


def missing(session: Session, *, admin_key: bool, demo: bool) -> Missing:
    return Missing(
        admin_key=admin_key and _admin_key_id(session) is None,
        admin_user=_first_admin(session) is None,
        demo=demo and session.get(InstanceSetting, _DEMO_FLAG) is None,
    )


def prepare(
    todo: Missing,
    *,
    password: str | None,
    rounds: int,
    hasher: PasswordHasher = users.DEFAULT_HASHER,
) -> Prepared:
    """Hash what first start will create: call it with no session or transaction open."""
    generated = None if password else secrets.token_urlsafe(12)
    return Prepared(
        admin_key=keys.new_secret(rounds, admin=True) if todo.admin_key else None,
        admin_password=(
            users.hash_password(password or generated or "", hasher) if todo.admin_user else None
        ),
        generated_password=generated if todo.admin_user else None,
        demo_keys=tuple(keys.new_secret(rounds) for _ in range(4)) if todo.demo else None,
    )


def _admin_key_id(session: Session) -> int | None:
    return session.scalar(select(ApiKey.id).where(ApiKey.role == "admin").limit(1))


def _first_admin(session: Session) -> User | None:
    return session.scalar(
        select(User).where(User.is_instance_admin.is_(True)).order_by(User.id).limit(1)
    )


def ensure_admin_key(
    session: Session, *, rounds: int = 12, secret: keys.KeySecret | None = None
) -> str | None:
    """Create the instance admin key if there is none; return it (shown once) or None."""
    if _admin_key_id(session) is not None:
        return None
    return keys.create_admin_key(session, secret=secret, rounds=rounds).key


@dataclass(frozen=True)
class AdminUser:
    user_id: int
    email: str
    password: str | None  # generated now (shown once); None: from the environment or earlier
    created: bool


def ensure_admin_user(
    session: Session,
    *,
    email: str | None,
    password: str | None,
    hasher: PasswordHasher = users.DEFAULT_HASHER,
    prepared: Prepared | None = None,
) -> AdminUser:
    """The first instance admin user: created (with ``email``/``password``, or
    admin@localhost and a generated password) when no instance admin user exists yet."""
    existing = _first_admin(session)
    if existing is not None:
        return AdminUser(existing.id, existing.email, None, created=False)
    secret: str | users.HashedPassword
    if prepared is not None and prepared.admin_password is not None:
        generated, secret = prepared.generated_password, prepared.admin_password
    else:
        generated = None if password else secrets.token_urlsafe(12)
        secret = password or generated or ""
    user = users.create_user(
        session,
        None,
        email=email or "admin@localhost",
        password=secret,
        is_instance_admin=True,
        hasher=hasher,
    )
    return AdminUser(user.id, user.email, generated, created=True)


def ensure_demo_project(
    session: Session,
    *,
    rounds: int = 12,
    owner_user_id: int | None = None,
    secrets: tuple[keys.KeySecret, ...] | None = None,
) -> DemoProject | None:
    """Create the demo project with one prompt and two versions, once per database
    (owned by ``owner_user_id``, the instance admin user, when given), with a dev write and
    read key and a write key for staging and for production (``secrets``: those four, made
    by :func:`prepare`)."""
    if session.get(InstanceSetting, _DEMO_FLAG) is not None:
        return None
    write_secret, read_secret, staging_secret, production_secret = secrets or (None,) * 4
    system = Actor(label="system", role="admin")
    project, issued = projects.create_project(
        session, system, name="Demo project", secret=write_secret, rounds=rounds
    )
    if owner_user_id is not None:
        session.add(Membership(user_id=owner_user_id, project_id=project.id, role="owner"))
    key_actor = Actor(
        label=issued.record.prefix,
        role="write",
        project_id=project.id,
        environment="dev",
        key_id=issued.record.id,
    )
    prompts.create_prompt(
        session,
        key_actor,
        slug=DEMO_SLUG,
        name="Onboarding email",
        description="Welcome email sent to new users (demo).",
    )
    common = {
        "system_prompt": "You are a friendly onboarding assistant for {{product}}.",
        "model": "gpt-4o-mini",
        "max_tokens": 400,
    }
    versions.create_version(
        session,
        key_actor,
        DEMO_SLUG,
        user_template="Write a short welcome email to {{name}}.",
        temperature=0.7,
        commit_message="First draft",
        **common,  # type: ignore[arg-type]
    )
    versions.create_version(
        session,
        key_actor,
        DEMO_SLUG,
        user_template="Write a warm, three-sentence welcome email to {{name}} who signed up for"
        " the {{plan}} plan.",
        temperature=0.5,
        metadata={"owner": "growth-team"},
        commit_message="Mention the plan, tighten length",
        **common,  # type: ignore[arg-type]
    )
    read = keys.create_key(
        session,
        key_actor,
        environment="dev",
        role="read",
        name="demo app (read)",
        secret=read_secret,
        rounds=rounds,
    )
    staging, production = (
        keys.create_key(
            session,
            system,
            environment=env,
            role="write",
            name=f"demo {env} (write)",
            project_id=project.id,
            secret=env_secret,
            rounds=rounds,
        )
        for env, env_secret in (("staging", staging_secret), ("production", production_secret))
    )
    session.add(InstanceSetting(key=_DEMO_FLAG, value=project.id))
    return DemoProject(
        project_id=project.id,
        write_key=issued.key,
        read_key=read.key,
        staging_write_key=staging.key,
        production_write_key=production.key,
    )
