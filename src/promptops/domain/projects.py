"""Projects: the top-level container. Creating one issues its initial ``write`` key for dev."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import Membership, Project
from promptops.domain import audit
from promptops.domain.access import Actor
from promptops.domain.errors import NotFoundError, PermissionDeniedError
from promptops.domain.keys import IssuedKey, KeySecret, _issue

__all__ = ["PROJECT_ID", "create_project", "get_project", "list_projects"]

PROJECT_ID = re.compile(r"^[0-9a-f]{32}$")


def create_project(
    session: Session,
    actor: Actor,
    *,
    name: str,
    secret: KeySecret | None = None,
    rounds: int = 12,
) -> tuple[Project, IssuedKey]:
    """Create a project and its initial key (``secret``: made with ``keys.new_secret``
    before the write transaction)."""
    actor.require_admin()
    project = Project(id=uuid.uuid4().hex, name=name)
    session.add(project)
    session.flush()
    issued = _issue(
        session,
        project_id=project.id,
        environment="dev",
        role="write",
        name="initial key",
        creator=actor,
        secret=secret,
        rounds=rounds,
    )
    if actor.user_id is not None:  # the instance admin user owns what it creates
        session.add(Membership(user_id=actor.user_id, project_id=project.id, role="owner"))
    audit.record(
        session,
        actor,
        "project.created",
        project_id=project.id,
        target_type="project",
        target=project.id,
        after={"name": name, "initial_key": issued.record.prefix},
    )
    return project, issued


def get_project(session: Session, actor: Actor, project_id: str) -> Project:
    if not actor.is_admin and project_id != actor.project_id:
        # Same answer whether or not it exists: keys learn nothing of other projects.
        raise PermissionDeniedError("this key belongs to another project")
    project = session.get(Project, project_id) if PROJECT_ID.match(project_id) else None
    if project is None:
        raise NotFoundError(f"project {project_id[:40]!r} not found")
    return project


def list_projects(session: Session, actor: Actor) -> list[Project]:
    query = select(Project).order_by(Project.created_at, Project.id)
    if actor.is_user and not actor.is_admin and actor.project_id is None:
        members = select(Membership.project_id).where(Membership.user_id == actor.user_id)
        query = query.where(Project.id.in_(members))  # a user naming no project: its own
    elif not actor.is_admin:
        query = query.where(Project.id == actor.project_id)
    return list(session.scalars(query))
