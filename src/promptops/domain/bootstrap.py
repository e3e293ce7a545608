"""First-start set-up: the instance admin key, the instance admin user and the demo
project (each idempotent)."""

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
    "ensure_admin_key",
    "ensure_admin_user",
    "ensure_demo_project",
]

_DEMO_FLAG = "demo_project_id"
DEMO_SLUG = "onboarding-email"


@dataclass(frozen=True)
class DemoProject:
    project_id: str
    write_key: str  # dev, write
    read_key: str  # dev, read: what an application embeds


def ensure_admin_key(session: Session, *, rounds: int) -> str | None:
    """Create the instance admin key if there is none; return it (shown once) or None."""
    exists = session.scalar(select(ApiKey.id).where(ApiKey.role == "admin").limit(1))
    if exists is not None:
        return None
    return keys.create_admin_key(session, rounds=rounds).key


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
) -> AdminUser:
    """The first instance admin user: created (with ``email``/``password``, or
    admin@localhost and a generated password) when no instance admin user exists yet."""
    existing = session.scalar(
        select(User).where(User.is_instance_admin.is_(True)).order_by(User.id).limit(1)
    )
    if existing is not None:
        return AdminUser(existing.id, existing.email, None, created=False)
    generated = None if password else secrets.token_urlsafe(12)
    user = users.create_user(
        session,
        None,
        email=email or "admin@localhost",
        password=password or generated or "",
        is_instance_admin=True,
        hasher=hasher,
    )
    return AdminUser(user.id, user.email, generated, created=True)


def ensure_demo_project(
    session: Session, *, rounds: int, owner_user_id: int | None = None
) -> DemoProject | None:
    """Create the demo project with one prompt and two versions, once per database
    (owned by ``owner_user_id``, the instance admin user, when given)."""
    if session.get(InstanceSetting, _DEMO_FLAG) is not None:
        return None
    system = Actor(label="system", role="admin")
    project, issued = projects.create_project(session, system, name="Demo project", rounds=rounds)
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
        session, key_actor, environment="dev", role="read", name="demo app (read)", rounds=rounds
    )
    session.add(InstanceSetting(key=_DEMO_FLAG, value=project.id))
    return DemoProject(project_id=project.id, write_key=issued.key, read_key=read.key)
