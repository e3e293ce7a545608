"""/v1/prompts/{slug}/deployments: active versions, promote, roll back, history."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from promptops.domain import deployments, prompts
from promptops.server.api.deps import ActorDep, Limit, ReadSession, StateDep
from promptops.server.api.schemas import (
    ActiveDeploymentOut,
    DeploymentHistory,
    DeploymentOut,
    DeploymentsOut,
    Environment,
    PromoteRequest,
)

router = APIRouter(prefix="/v1/prompts/{slug}/deployments", tags=["deployments"])


@router.get("", response_model=DeploymentsOut)
def get_deployments(slug: str, actor: ActorDep, session: ReadSession) -> DeploymentsOut:
    """The active version in each environment (null where nothing is deployed)."""
    prompt = prompts.get_prompt(session, actor.project_for(None), slug)
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


@router.post("/{environment}", response_model=DeploymentOut)
def promote(
    slug: str, environment: Environment, body: PromoteRequest, actor: ActorDep, st: StateDep
) -> DeploymentOut:
    """Make a version active: `{"version": N}` or `{"from_environment": "staging"}`."""
    with st.db.write() as session:
        row = deployments.promote(
            session,
            actor,
            slug,
            environment,
            version=body.version,
            from_environment=body.from_environment,
        )
        return DeploymentOut.model_validate(row)


@router.post("/{environment}/rollback", response_model=DeploymentOut)
def rollback(slug: str, environment: Environment, actor: ActorDep, st: StateDep) -> DeploymentOut:
    """Return the environment to its previous version (409 when there is none)."""
    with st.db.write() as session:
        return DeploymentOut.model_validate(deployments.rollback(session, actor, slug, environment))


@router.get("/{environment}/history", response_model=DeploymentHistory)
def history(
    slug: str,
    environment: Environment,
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 100,
    cursor: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> DeploymentHistory:
    prompt = prompts.get_prompt(session, actor.project_for(None), slug)
    rows = deployments.history(session, prompt, environment, limit=limit, before_id=cursor)
    return DeploymentHistory(
        data=[DeploymentOut.model_validate(r) for r in rows],
        next_cursor=rows[-1].id if len(rows) == limit else None,
    )
