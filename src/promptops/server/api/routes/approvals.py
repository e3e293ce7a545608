"""/v1/environments (protection) and /v1/change-requests (approve, reject, withdraw)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from promptops.contract.deployments import (
    ApprovalOut,
    ChangeRequestList,
    ChangeRequestOut,
    Decision,
    DeploymentOut,
    EnvironmentOut,
    EnvironmentUpdate,
)
from promptops.contract.fields import Environment
from promptops.domain import approvals, protection
from promptops.domain.errors import InvalidInputError
from promptops.server.api.deps import ActorDep, Limit, ProjectQuery, ReadSession, StateDep
from promptops.server.serialize import change_request_out

router = APIRouter(tags=["approvals"])

RequestId = Annotated[int, Path(ge=1, le=2_147_483_647)]


@router.get("/v1/environments", response_model=list[EnvironmentOut])
def list_environments(
    actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> list[EnvironmentOut]:
    project = actor.project_for(project_id)
    settings = protection.environment_settings(session, project)
    required = protection.all_required_evals(session, project)
    return [
        EnvironmentOut.model_validate(
            {"name": env, "protected": on, "required_evals": required[env]}
        )
        for env, on in settings.items()
    ]


@router.put("/v1/environments/{environment}", response_model=EnvironmentOut)
def set_environment(
    environment: Environment,
    body: EnvironmentUpdate,
    actor: ActorDep,
    st: StateDep,
    project_id: ProjectQuery = None,
) -> EnvironmentOut:
    """Protect an environment (staging or production): promotions and rollbacks there then
    need another person's approval; and/or require evals there (`required_evals`): a
    version is promoted only with a passing latest result of each (409 naming what is
    missing; a change request waits, and approving it is refused until they pass). A field
    left out is unchanged. Project admins/owners or the instance admin key."""
    if body.protected is None and body.required_evals is None:
        raise InvalidInputError("give protected and/or required_evals", field="protected")
    with st.db.write() as session:
        row = protection.set_environment(
            session,
            actor,
            environment,
            protected=body.protected,
            required=body.required_evals,
            project_id=project_id,
        )
        return EnvironmentOut.model_validate(
            {
                "name": row.environment,
                "protected": row.protected,
                "required_evals": row.required_evals or [],
            }
        )


@router.get("/v1/change-requests", response_model=ChangeRequestList)
def list_change_requests(
    actor: ActorDep,
    session: ReadSession,
    status: Literal["pending", "approved", "rejected", "withdrawn"] | None = None,
    slug: Annotated[str | None, Query(max_length=100, pattern=r"^[a-z0-9_-]+$")] = None,
    limit: Limit = 100,
    cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> ChangeRequestList:
    views = approvals.list_requests(
        session, actor.project_for(None), status=status, slug=slug, limit=limit, before_id=cursor
    )
    return ChangeRequestList(
        data=[change_request_out(v) for v in views],
        next_cursor=views[-1].request.id if len(views) == limit else None,
    )


@router.get("/v1/change-requests/{request_id}", response_model=ChangeRequestOut)
def get_change_request(
    request_id: RequestId, actor: ActorDep, session: ReadSession
) -> ChangeRequestOut:
    return change_request_out(approvals.get_request(session, actor.project_for(None), request_id))


@router.post("/v1/change-requests/{request_id}/approve", response_model=ApprovalOut)
def approve(
    request_id: RequestId, actor: ActorDep, st: StateDep, body: Decision | None = None
) -> ApprovalOut:
    """Apply a pending request (a user with role admin or owner, not the requester).
    409 when the environment moved since the request (stale) or it was already decided."""
    with st.db.write() as session:
        comment = body.comment if body else None
        request, row = approvals.approve(session, actor, request_id, comment=comment)
        view = approvals.get_request(session, request.project_id, request.id)
        return ApprovalOut(
            change_request=change_request_out(view), deployment=DeploymentOut.model_validate(row)
        )


@router.post("/v1/change-requests/{request_id}/reject", response_model=ChangeRequestOut)
def reject(
    request_id: RequestId, actor: ActorDep, st: StateDep, body: Decision | None = None
) -> ChangeRequestOut:
    with st.db.write() as session:
        request = approvals.reject(
            session, actor, request_id, comment=body.comment if body else None
        )
        return change_request_out(approvals.get_request(session, request.project_id, request.id))


@router.post("/v1/change-requests/{request_id}/withdraw", response_model=ChangeRequestOut)
def withdraw(request_id: RequestId, actor: ActorDep, st: StateDep) -> ChangeRequestOut:
    """The requester (the same user or API key) takes its request back."""
    with st.db.write() as session:
        request = approvals.withdraw(session, actor, request_id)
        return change_request_out(approvals.get_request(session, request.project_id, request.id))
