"""The audit log: every change with its actor, written in the changing transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import AuditEvent
from promptops.domain.access import Actor

__all__ = ["list_events", "record"]


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


def list_events(
    session: Session,
    project_id: str | None,
    *,
    limit: int = 100,
    before_id: int | None = None,
    action: str | None = None,
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if project_id is not None:
        query = query.where(AuditEvent.project_id == project_id)
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    if action is not None:
        query = query.where(AuditEvent.action == action)
    return list(session.scalars(query))
