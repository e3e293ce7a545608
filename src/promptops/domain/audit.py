"""The audit log: every change with its actor, written in the changing transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, and_, cast, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from promptops.db.models import AuditEvent, ChangeRequest, Prompt
from promptops.domain.access import Actor

__all__ = ["AuditFilters", "filter_choices", "list_events", "record"]


@dataclass(frozen=True)
class AuditFilters:
    """Narrowing the log: each given field must match (``until`` is exclusive)."""

    action: str | None = None
    actor: str | None = None  # the label as stored (a key prefix, user:<email>, ...)
    prompt_slug: str | None = None  # events about the prompt, its deployments and requests
    since: datetime | None = None
    until: datetime | None = None


def record(
    session: Session,
    actor: Actor | str | None,
    action: str,
    *,
    project_id: str | None,
    target_type: str,
    target: str | None,
    before: Any = None,
    after: Any = None,
) -> None:
    label = actor.label if isinstance(actor, Actor) else actor
    session.add(
        AuditEvent(
            project_id=project_id,
            actor=label,
            action=action,
            target_type=target_type,
            target=target,
            before=before,
            after=after,
        )
    )


def _about_prompt(project_id: str | None, slug: str) -> ColumnElement[bool]:
    requests = (
        select(cast(ChangeRequest.id, String))
        .join(Prompt, Prompt.id == ChangeRequest.prompt_id)
        .where(Prompt.slug == slug)
    )
    if project_id is not None:
        requests = requests.where(Prompt.project_id == project_id)
    return or_(
        and_(AuditEvent.target_type == "prompt", AuditEvent.target == slug),
        and_(
            AuditEvent.target_type == "deployment",
            AuditEvent.target.startswith(f"{slug}:", autoescape=True),
        ),
        and_(AuditEvent.target_type == "change_request", AuditEvent.target.in_(requests)),
    )


def list_events(
    session: Session,
    project_id: str | None,
    *,
    limit: int = 100,
    before_id: int | None = None,
    action: str | None = None,
    filters: AuditFilters | None = None,
) -> list[AuditEvent]:
    """Events newest first; page on with ``before_id`` (the last id of the previous page)."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if project_id is not None:
        query = query.where(AuditEvent.project_id == project_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    f = filters or AuditFilters()
    if f.action is not None:
        query = query.where(AuditEvent.action == f.action)
    if f.actor is not None:
        query = query.where(AuditEvent.actor == f.actor)
    if f.prompt_slug is not None:
        query = query.where(_about_prompt(project_id, f.prompt_slug))
    if f.since is not None:
        query = query.where(AuditEvent.created_at >= f.since)
    if f.until is not None:
        query = query.where(AuditEvent.created_at < f.until)
    return list(session.scalars(query))


def filter_choices(session: Session, project_id: str) -> tuple[list[str], list[str]]:
    """The actions and the actors that occur in a project's log, sorted (for filter menus)."""
    where = AuditEvent.project_id == project_id
    actions = session.scalars(select(AuditEvent.action).where(where).distinct())
    labels = session.scalars(
        select(AuditEvent.actor).where(where, AuditEvent.actor.is_not(None)).distinct()
    )
    return sorted(actions), sorted(x for x in labels if x)
