"""Agents: prompts of type ``agent`` whose versions hold a workflow
(:class:`promptops.contract.agents.AgentDefinition`) in ``definition``.

Everything but the content is the prompts' own: versions are numbered by the same counter
and deployed to dev on creation, promoted and rolled back by
:mod:`promptops.domain.deployments` (``/v1/prompts/{slug}/deployments/...``), under the
same protection, approvals, events and audit. Runs are :mod:`promptops.domain.agent_runs`.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from promptops._json import json_equal
from promptops.contract.agent_runs import AgentVersionCreate
from promptops.contract.agents import AgentDefinition, stored_columns
from promptops.contract.validation import parse
from promptops.db.models import ActiveDeployment, Prompt, PromptVersion
from promptops.domain import prompts, versions
from promptops.domain.access import Actor
from promptops.domain.errors import NotFoundError
from promptops.domain.versions import Pushed

__all__ = [
    "create_agent",
    "definition_of",
    "get_agent",
    "get_agent_version",
    "list_agent_versions",
    "list_agents",
    "push_agent_version",
]


def create_agent(
    session: Session, actor: Actor, *, slug: str, name: str, description: str | None = None
) -> Prompt:
    return prompts.create_prompt(
        session, actor, slug=slug, name=name, description=description, type="agent"
    )


def get_agent(session: Session, project_id: str, slug: str, *, lock: bool = False) -> Prompt:
    return prompts.get_prompt(session, project_id, slug, lock=lock, kind="agent")


def list_agents(
    session: Session, project_id: str, *, limit: int = 50, after: str | None = None
) -> list[Prompt]:
    return prompts.list_prompts(session, project_id, limit=limit, after=after, agents=True)


def _stored(definition: AgentDefinition) -> dict[str, Any]:
    return stored_columns(definition)


def push_agent_version(
    session: Session, actor: Actor, slug: str, body: AgentVersionCreate | dict[str, Any]
) -> Pushed:
    """The next version (deployed to dev), or, when the workflow equals the one active in
    dev, that version (``created`` False): pushing the same file twice creates nothing."""
    actor.require_write()
    parsed = body if isinstance(body, AgentVersionCreate) else parse(AgentVersionCreate, body)
    agent = get_agent(session, actor.project_for(None), slug, lock=True)
    stored = _stored(parsed)
    current = session.get(ActiveDeployment, (agent.id, "dev"))
    if current is not None:
        active = session.get(PromptVersion, current.version_id)
        if active is not None and json_equal(active.definition, stored["definition"]):
            return Pushed(active, created=False)
    version = versions.create_stored(
        session, actor, agent, stored, parsed.commit_message, parsed.author
    )
    return Pushed(version, created=True)


def list_agent_versions(
    session: Session, agent: Prompt, *, limit: int = 50, before: int | None = None
) -> list[PromptVersion]:
    return versions.list_versions(session, agent, limit=limit, before=before)


def get_agent_version(session: Session, agent: Prompt, number: int) -> PromptVersion:
    try:
        return versions.get_version(session, agent, number)
    except NotFoundError:
        raise NotFoundError(
            f"agent {agent.slug!r} has no version {number}", field="version"
        ) from None


def definition_of(version: PromptVersion) -> AgentDefinition:
    """The stored workflow, parsed (it was checked when stored)."""
    assert version.definition is not None, version.id
    return AgentDefinition.model_validate(version.definition)
