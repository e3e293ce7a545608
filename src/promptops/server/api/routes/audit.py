"""/v1/audit: every change with its actor, newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from promptops.contract.audit import AuditEventOut, AuditList
from promptops.domain import audit
from promptops.server.api.deps import ActorDep, Limit, ProjectQuery, ReadSession

router = APIRouter(prefix="/v1/audit", tags=["audit"])


@router.get("", response_model=AuditList)
def list_audit(
    actor: ActorDep,
    session: ReadSession,
    project_id: ProjectQuery = None,
    limit: Limit = 100,
    cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    action: Annotated[str | None, Query(max_length=64, pattern=r"^[a-z_.]+$")] = None,
) -> AuditList:
    project = None if actor.is_admin and project_id is None else actor.project_for(project_id)
    events = audit.list_events(session, project, limit=limit, before_id=cursor, action=action)
    return AuditList(
        data=[AuditEventOut.model_validate(e) for e in events],
        next_cursor=events[-1].id if len(events) == limit else None,
    )
