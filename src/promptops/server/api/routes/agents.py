"""/v1/agents: agents (prompts of type ``agent``) and their versions (workflows).

Deployments are the prompts' own: ``/v1/prompts/{slug}/deployments/{environment}`` promotes
and rolls back an agent's versions under the same protection and approvals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response
from pydantic import AfterValidator

from promptops.contract.agent_runs import (
    AgentCreate,
    AgentList,
    AgentOut,
    AgentVersionCreate,
    AgentVersionList,
    AgentVersionOut,
)
from promptops.db.models import Prompt, PromptVersion
from promptops.db.session import Session
from promptops.domain import agents, deployments
from promptops.server.api.deps import ActorDep, Limit, ReadSession, StateDep, no_nul, own_project

router = APIRouter(prefix="/v1/agents", tags=["agents"])

VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _agents_out(session: Session, rows: list[Prompt]) -> list[AgentOut]:
    active = deployments.active_versions_of(session, [p.id for p in rows])
    return [
        AgentOut.model_validate(p).model_copy(update={"deployments": active[p.id]}) for p in rows
    ]


def _version_out(agent: Prompt, version: PromptVersion, created: bool = True) -> AgentVersionOut:
    return AgentVersionOut(
        slug=agent.slug,
        version=version.version,
        definition=version.definition or {},
        commit_message=version.commit_message,
        author=version.author,
        created_at=version.created_at,
        created=created,
    )


@router.post("", status_code=201, response_model=AgentOut)
def create_agent(body: AgentCreate, actor: ActorDep, st: StateDep) -> AgentOut:
    with st.db.write() as session:
        agent = agents.create_agent(
            session, actor, slug=body.slug, name=body.name, description=body.description
        )
        return _agents_out(session, [agent])[0]


@router.get("", response_model=AgentList)
def list_agents(
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 50,
    cursor: Annotated[
        str | None, Query(max_length=100, description="next_cursor"), AfterValidator(no_nul)
    ] = None,
) -> AgentList:
    rows = agents.list_agents(session, own_project(actor), limit=limit, after=cursor)
    return AgentList(
        data=_agents_out(session, rows), next_cursor=rows[-1].slug if len(rows) == limit else None
    )


@router.get("/{slug}", response_model=AgentOut)
def get_agent(slug: str, actor: ActorDep, session: ReadSession) -> AgentOut:
    return _agents_out(session, [agents.get_agent(session, own_project(actor), slug)])[0]


@router.post(
    "/{slug}/versions",
    status_code=201,
    response_model=AgentVersionOut,
    responses={200: {"model": AgentVersionOut, "description": "identical to the dev version"}},
)
def create_version(
    slug: str, body: AgentVersionCreate, actor: ActorDep, st: StateDep, response: Response
) -> AgentVersionOut:
    """The next version of the workflow, checked whole (422 naming the step and field); it
    becomes active in `dev`. A workflow identical to the one active in `dev` creates
    nothing: `200` with that version and `created: false`."""
    with st.db.write() as session:
        pushed = agents.push_agent_version(session, actor, slug, body)
        agent = agents.get_agent(session, own_project(actor), slug)
        if not pushed.created:
            response.status_code = 200
        return _version_out(agent, pushed.version, pushed.created)


@router.get("/{slug}/versions", response_model=AgentVersionList)
def list_versions(
    slug: str,
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 50,
    cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> AgentVersionList:
    agent = agents.get_agent(session, own_project(actor), slug)
    rows = agents.list_agent_versions(session, agent, limit=limit, before=cursor)
    return AgentVersionList(
        data=[_version_out(agent, v) for v in rows],
        next_cursor=rows[-1].version if len(rows) == limit and rows[-1].version > 1 else None,
    )


@router.get("/{slug}/versions/{number}", response_model=AgentVersionOut)
def get_version(
    slug: str, number: VersionNumber, actor: ActorDep, session: ReadSession
) -> AgentVersionOut:
    agent = agents.get_agent(session, own_project(actor), slug)
    return _version_out(agent, agents.get_agent_version(session, agent, number))
