"""Deployments: which version is active in which environment, and the history of changes.

Every change appends a :class:`Deployment` row and moves the :class:`ActiveDeployment`
pointer in one transaction. A deployment remembers the one it replaced, so rollback walks
back like a stack (rolling back twice goes back two steps), and history is never rewritten.
"""

from __future__ import annotations

from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import (
    ActiveDeployment,
    ChangeRequest,
    Deployment,
    Prompt,
    PromptVersion,
    utcnow,
)
from promptops.domain import audit, changes, protection, snippets
from promptops.domain.access import ENVIRONMENTS, Actor, check_environment
from promptops.domain.errors import ConflictError, InvalidInputError, NotFoundError
from promptops.domain.prompts import get_prompt

__all__ = [
    "active_deployments",
    "active_version",
    "active_versions_of",
    "deploy",
    "history",
    "no_active_error",
    "promote",
    "recent_with_approvals",
    "rollback",
]

Action = Literal["auto", "promote", "rollback"]


def _current(session: Session, prompt_id: int, environment: str) -> ActiveDeployment | None:
    return session.get(ActiveDeployment, (prompt_id, environment))


def deploy(
    session: Session,
    actor: Actor,
    prompt: Prompt,
    environment: str,
    version: PromptVersion,
    *,
    action: Action,
    previous_deployment_id: int | None = None,
    stack_from_current: bool = True,
) -> Deployment:
    """Make ``version`` active in ``environment`` (caller holds the prompt's row lock).
    Refused (409) when the version's snippets cannot be resolved there; a new version in
    dev was checked at creation. When ``prompt`` is a snippet, its dependents there get a
    ``TEMPLATE_UPDATED`` change each (their served content changed)."""
    if action != "auto":
        snippets.check_deployable(session, prompt, version, environment)
    current = _current(session, prompt.id, environment)
    row = Deployment(
        prompt_id=prompt.id,
        environment=environment,
        version=version.version,
        version_id=version.id,
        previous_deployment_id=(
            current.deployment_id if (stack_from_current and current) else previous_deployment_id
        ),
        previous_version=current.version if current else None,
        action=action,
        actor=actor.label,
    )
    session.add(row)
    session.flush()
    if current is None:
        session.add(
            ActiveDeployment(
                prompt_id=prompt.id,
                environment=environment,
                deployment_id=row.id,
                version_id=version.id,
                version=version.version,
            )
        )
    else:
        current.deployment_id = row.id
        current.version_id = version.id
        current.version = version.version
        current.updated_at = utcnow()
    audit.record(
        session,
        actor,
        f"deployment.{action}",
        project_id=prompt.project_id,
        target_type="deployment",
        target=f"{prompt.slug}:{environment}",
        before={"version": row.previous_version},
        after={"version": version.version},
    )
    changes.record(
        session,
        changes.Change(
            changes.ChangeKind.LABEL_MOVED,
            prompt.project_id,
            slug=prompt.slug,
            environment=environment,
            version=version.version,
            previous_version=row.previous_version,
            action=action,
            actor=actor.label,
            deployment_id=row.id,
        ),
    )
    if prompt.type == "text":
        _dependents_changed(session, actor, prompt, environment, version)
    return row


def _dependents_changed(
    session: Session, actor: Actor, snippet: Prompt, environment: str, version: PromptVersion
) -> None:
    session.flush()  # the moved label is what the dependents now resolve against
    try:
        found = snippets.dependents_in(session, snippet, environment)
    except snippets.SnippetError as exc:
        raise ConflictError(
            f"{snippet.slug!r} version {version.version} cannot be deployed to"
            f" {environment!r}: a prompt including it would no longer resolve: {exc}",
            field="version",
        ) from exc
    for dependent in found:
        changes.record(
            session,
            changes.Change(
                changes.ChangeKind.TEMPLATE_UPDATED,
                snippet.project_id,
                slug=dependent.prompt.slug,
                environment=environment,
                version=dependent.active.version,
                actor=actor.label,
                deployment_id=dependent.active.deployment_id,
                data={"snippet": {"slug": snippet.slug, "version": version.version}},
            ),
        )


def promote(
    session: Session,
    actor: Actor,
    slug: str,
    environment: str,
    *,
    version: int | None = None,
    from_environment: str | None = None,
    comment: str | None = None,
) -> Deployment | ChangeRequest:
    """Make a version (by number, or the one active in ``from_environment``) active in
    ``environment``. Promoting the version that is already active changes nothing. In a
    protected environment this opens a pending change request instead (see protection)."""
    check_environment(environment)
    actor.require_write()
    actor.require_environment(environment)
    prompt = get_prompt(session, actor.project_for(None), slug, lock=True)
    if (version is None) == (from_environment is None):
        raise InvalidInputError(
            "give exactly one of 'version' or 'from_environment'", field="version"
        )
    if from_environment is not None:
        check_environment(from_environment, field="from_environment")
        source = _current(session, prompt.id, from_environment)
        if source is None:
            raise ConflictError(
                f"nothing is deployed in {from_environment!r} to promote",
                field="from_environment",
            )
        version = source.version
    assert version is not None
    target = session.scalar(
        select(PromptVersion).where(
            PromptVersion.prompt_id == prompt.id, PromptVersion.version == version
        )
    )
    if target is None:
        raise NotFoundError(f"prompt {prompt.slug!r} has no version {version}", field="version")
    current = _current(session, prompt.id, environment)
    if current is not None and current.version == target.version:
        existing = session.get(Deployment, current.deployment_id)
        assert existing is not None
        return existing
    snippets.check_deployable(session, prompt, target, environment)  # before any request
    request = protection.gate(
        session,
        actor,
        prompt,
        environment,
        action="promote",
        version=target,
        current=current,
        comment=comment,
    )
    if request is not None:  # a protected environment: approval needed
        return request
    return deploy(session, actor, prompt, environment, target, action="promote")


def rollback(
    session: Session, actor: Actor, slug: str, environment: str, *, comment: str | None = None
) -> Deployment | ChangeRequest:
    """Return ``environment`` to the version it had before its current deployment (or open
    a change request, in a protected environment)."""
    check_environment(environment)
    actor.require_write()
    actor.require_environment(environment)
    prompt = get_prompt(session, actor.project_for(None), slug, lock=True)
    current = _current(session, prompt.id, environment)
    row = session.get(Deployment, current.deployment_id) if current else None
    previous = (
        session.get(Deployment, row.previous_deployment_id)
        if row is not None and row.previous_deployment_id is not None
        else None
    )
    if current is None or previous is None:
        raise ConflictError(f"{environment!r} has no previous version to roll back to")
    version = session.get(PromptVersion, previous.version_id)
    assert version is not None
    snippets.check_deployable(session, prompt, version, environment)  # before any request
    request = protection.gate(
        session,
        actor,
        prompt,
        environment,
        action="rollback",
        version=version,
        current=current,
        comment=comment,
    )
    if request is not None:  # a protected environment: approval needed
        return request
    return deploy(
        session,
        actor,
        prompt,
        environment,
        version,
        action="rollback",
        previous_deployment_id=previous.previous_deployment_id,
        stack_from_current=False,
    )


def active_versions_of(session: Session, prompt_ids: list[int]) -> dict[int, dict[str, int | None]]:
    """For each prompt id, the version active in each environment (None: nothing), in one
    query (prompt lists)."""
    out: dict[int, dict[str, int | None]] = {
        pid: dict.fromkeys(ENVIRONMENTS, None) for pid in prompt_ids
    }
    if prompt_ids:
        rows = session.scalars(
            select(ActiveDeployment).where(ActiveDeployment.prompt_id.in_(prompt_ids))
        )
        for row in rows:
            out[row.prompt_id][row.environment] = row.version
    return out


def recent_with_approvals(
    session: Session, prompt: Prompt, *, limit: int = 50
) -> list[tuple[Deployment, ChangeRequest | None]]:
    """The prompt's newest deployments, each with the change request that approved it."""
    rows = list(
        session.scalars(
            select(Deployment)
            .where(Deployment.prompt_id == prompt.id)
            .order_by(Deployment.id.desc())
            .limit(limit)
        )
    )
    approved: dict[int | None, ChangeRequest] = {}
    if rows:
        query = select(ChangeRequest).where(ChangeRequest.deployment_id.in_([r.id for r in rows]))
        approved = {cr.deployment_id: cr for cr in session.scalars(query)}
    return [(r, approved.get(r.id)) for r in rows]


def active_deployments(session: Session, prompt: Prompt) -> dict[str, ActiveDeployment | None]:
    rows = session.scalars(
        select(ActiveDeployment).where(ActiveDeployment.prompt_id == prompt.id)
    ).all()
    by_env = {row.environment: row for row in rows}
    return {env: by_env.get(env) for env in ENVIRONMENTS}


def active_version(
    session: Session, project_id: str, slug: str, environment: str
) -> tuple[Prompt, PromptVersion, ActiveDeployment] | None:
    """The read path's one query: prompt, its active version and deployment, or None."""
    row = session.execute(
        select(Prompt, PromptVersion, ActiveDeployment)
        .join(ActiveDeployment, ActiveDeployment.prompt_id == Prompt.id)
        .join(PromptVersion, PromptVersion.id == ActiveDeployment.version_id)
        .where(
            Prompt.project_id == project_id,
            Prompt.slug == slug,
            Prompt.type != "agent",  # agents are read at /v1/agents, never as prompts
            ActiveDeployment.environment == environment,
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])


def no_active_error(
    session: Session, project_id: str, slug: str, environment: str
) -> NotFoundError:
    """Why :func:`active_version` found nothing: no such prompt, or nothing active."""
    exists = session.scalar(
        select(Prompt.id).where(
            Prompt.project_id == project_id, Prompt.slug == slug, Prompt.type != "agent"
        )
    )
    if exists is None:
        return NotFoundError(f"prompt {slug!r} not found")
    return NotFoundError(f"prompt {slug!r} has no version active in {environment!r}")


def history(
    session: Session,
    prompt: Prompt,
    environment: str,
    *,
    limit: int = 100,
    before_id: int | None = None,
) -> list[Deployment]:
    check_environment(environment)
    query = (
        select(Deployment)
        .where(Deployment.prompt_id == prompt.id, Deployment.environment == environment)
        .order_by(Deployment.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(Deployment.id < before_id)
    return list(session.scalars(query))
