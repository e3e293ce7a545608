"""/v1/prompts/{slug}/deployments: active versions, promote, roll back, history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from promptops.contract.deployments import (
    ActiveDeploymentOut,
    DeploymentHistory,
    DeploymentOut,
    DeploymentsOut,
    PromoteRequest,
)
from promptops.contract.fields import Environment
from promptops.domain import deployments, prompts
from promptops.server.api.deps import ActorDep, Limit, ReadSession, StateDep, own_project
from promptops.server.serialize import PENDING_RESPONSE, deployed_or_pending

router = APIRouter(prefix="/v1/prompts/{slug}/deployments", tags=["deployments"])


@router.get("", response_model=DeploymentsOut)
def get_deployments(slug: str, actor: ActorDep, session: ReadSession) -> DeploymentsOut:
    """The active version in each environment (null where nothing is deployed)."""
    prompt = prompts.get_prompt(session, own_project(actor), slug)
    active = deployments.active_deployments(session, prompt)
    return DeploymentsOut(
        slug=slug,
        environments={
            env: None
            if row is None
            else ActiveDeploymentOut(
                version=row.version, deployment_id=row.deployment_id, deployed_at=row.updated_at
            )
            for env, row in active.items()
        },
    )


@router.post("/{environment}", response_model=DeploymentOut, responses=PENDING_RESPONSE)
def promote(
    slug: str, environment: Environment, body: PromoteRequest, actor: ActorDep, st: StateDep
) -> Any:
    """Make a version active: `{"version": N}` or `{"from_environment": "staging"}`. In a
    protected environment: 202 with the pending change request an admin/owner approves."""
    with st.db.write() as session:
        row = deployments.promote(
            session,
            actor,
            slug,
            environment,
            version=body.version,
            from_environment=body.from_environment,
            comment=body.comment,
        )
        return deployed_or_pending(session, row)


@router.post("/{environment}/rollback", response_model=DeploymentOut, responses=PENDING_RESPONSE)
def rollback(slug: str, environment: Environment, actor: ActorDep, st: StateDep) -> Any:
    """Return the environment to its previous version (409 when there is none); 202 with a
    pending change request in a protected environment."""
    with st.db.write() as session:
        return deployed_or_pending(session, deployments.rollback(session, actor, slug, environment))


@router.get("/{environment}/history", response_model=DeploymentHistory)
def history(
    slug: str,
    environment: Environment,
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 100,
    cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> DeploymentHistory:
    prompt = prompts.get_prompt(session, own_project(actor), slug)
    rows = deployments.history(session, prompt, environment, limit=limit, before_id=cursor)
    return DeploymentHistory(
        data=[DeploymentOut.model_validate(r) for r in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )
