"""Protected environments: a change there is requested by one person, approved by another.

A project marks ``staging`` or ``production`` protected (``dev`` cannot be: every new version
is deployed there automatically). A promote or rollback of a protected environment by anyone
who may not bypass protection opens a pending :class:`ChangeRequest` instead of deploying
(see :mod:`promptops.domain.approvals` for deciding it). Only API keys created with the
explicit ``can_bypass_protection`` permission deploy there directly, and each such
deployment is written to the audit log as ``deployment.protection_bypassed``.

An environment may also require eval results (``required_evals``, see
:mod:`promptops.domain.evals`): a promotion that would deploy at once (the environment is
not protected, or the actor bypasses protection) is refused (409) unless the version passes
them; one that opens a change request is not, and approving it is refused until they pass.
That gate is not bypassed by anyone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import (
    ActiveDeployment,
    ApiKey,
    ChangeRequest,
    Project,
    ProjectEnvironment,
    Prompt,
    PromptVersion,
    utcnow,
)
from promptops.domain import audit, evals, keys
from promptops.domain.access import APPROVER_ROLES, ENVIRONMENTS, Actor, check_environment
from promptops.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError

__all__ = [
    "PROTECTABLE",
    "all_required_evals",
    "environment_settings",
    "gate",
    "is_protected",
    "requester_user_id",
    "required_evals",
    "set_environment",
    "set_protected",
]

PROTECTABLE: tuple[str, ...] = ("staging", "production")


def is_protected(session: Session, project_id: str, environment: str) -> bool:
    row = session.get(ProjectEnvironment, (project_id, environment))
    return bool(row and row.protected)


def environment_settings(session: Session, project_id: str) -> dict[str, bool]:
    """``{environment: protected}`` for every environment of the project."""
    rows = session.scalars(
        select(ProjectEnvironment).where(ProjectEnvironment.project_id == project_id)
    )
    protected = {row.environment: row.protected for row in rows}
    return {env: protected.get(env, False) for env in ENVIRONMENTS}


def required_evals(session: Session, project_id: str, environment: str) -> list[dict[str, Any]]:
    """``[{"name", "min_score"}]``: the evals a version needs to be promoted there."""
    row = session.get(ProjectEnvironment, (project_id, environment))
    return list(row.required_evals or []) if row else []


def all_required_evals(session: Session, project_id: str) -> dict[str, list[dict[str, Any]]]:
    rows = session.scalars(
        select(ProjectEnvironment).where(ProjectEnvironment.project_id == project_id)
    )
    found = {row.environment: list(row.required_evals or []) for row in rows}
    return {env: found.get(env, []) for env in ENVIRONMENTS}


def set_protected(
    session: Session, actor: Actor, environment: str, protected: bool, project_id: str | None = None
) -> ProjectEnvironment:
    """Mark an environment protected or not: the instance admin, or a project admin/owner."""
    return set_environment(session, actor, environment, protected=protected, project_id=project_id)


def set_environment(
    session: Session,
    actor: Actor,
    environment: str,
    *,
    protected: bool | None = None,
    required: Sequence[Any] | None = None,
    project_id: str | None = None,
) -> ProjectEnvironment:
    """Change an environment's protection and/or its required evals (``None``: unchanged;
    ``required`` items have ``name`` and ``min_score``, checked by the contract): the
    instance admin, or a project admin/owner."""
    check_environment(environment)
    if not actor.is_admin:
        if not actor.is_user:
            raise PermissionDeniedError(
                "changing environment protection needs a project admin or owner, or the"
                " instance admin key; API keys cannot"
            )
        actor.require_member_role(APPROVER_ROLES, "changing environment protection")
    project_id = actor.project_for(project_id)
    if session.get(Project, project_id) is None:
        raise NotFoundError(f"project {project_id[:40]!r} not found", field="project_id")
    if protected and environment not in PROTECTABLE:
        raise InvalidInputError(
            f"{environment!r} cannot be protected: every new version is deployed there"
            f" automatically; protect {' or '.join(PROTECTABLE)}",
            field="environment",
        )
    if required and environment not in PROTECTABLE:
        raise InvalidInputError(
            f"{environment!r} cannot require evals: every new version is deployed there"
            f" automatically; require them in {' or '.join(PROTECTABLE)}",
            field="required_evals",
        )
    row = session.get(ProjectEnvironment, (project_id, environment))
    before = bool(row and row.protected)
    evals_before = list(row.required_evals or []) if row else []
    if row is None:
        row = ProjectEnvironment(project_id=project_id, environment=environment, protected=False)
        session.add(row)
    if protected is not None:
        row.protected = protected
    if required is not None:
        row.required_evals = [
            {"name": str(_item(r, "name")), "min_score": float(_item(r, "min_score"))}
            for r in required
        ] or None
    row.updated_at = utcnow()
    session.flush()
    evals_after = list(row.required_evals or [])
    if evals_after != evals_before:
        audit.record(
            session,
            actor,
            "environment.required_evals_changed",
            project_id=project_id,
            target_type="environment",
            target=environment,
            before={"required_evals": evals_before},
            after={"required_evals": evals_after},
        )
    protected = row.protected
    if before != protected:
        audit.record(
            session,
            actor,
            "environment.protected" if protected else "environment.unprotected",
            project_id=project_id,
            target_type="environment",
            target=environment,
            before={"protected": before},
            after={"protected": protected},
        )
    return row


def _item(item: Any, key: str) -> Any:
    return item[key] if isinstance(item, dict) else getattr(item, key)


def gate(
    session: Session,
    actor: Actor,
    prompt: Prompt,
    environment: str,
    *,
    action: str,
    version: PromptVersion,
    current: ActiveDeployment | None,
    comment: str | None = None,
) -> ChangeRequest | None:
    """Called by promote/rollback just before deploying. Returns the change request that
    stands in for the deployment when the environment is protected, or None to deploy now
    (recording a bypass when the actor holds the permission). A promotion that would
    deploy now must pass the environment's required evals (409 otherwise)."""
    protected = is_protected(session, prompt.project_id, environment)
    if action == "promote" and (not protected or actor.can_bypass_protection):
        required = required_evals(session, prompt.project_id, environment)
        evals.require(session, prompt, version, environment, required)
    if not protected:
        return None
    if actor.can_bypass_protection:
        audit.record(
            session,
            actor,
            "deployment.protection_bypassed",
            project_id=prompt.project_id,
            target_type="deployment",
            target=f"{prompt.slug}:{environment}",
            before={"version": current.version if current else None},
            after={"version": version.version, "action": action},
        )
        return None
    return _open_request(session, actor, prompt, environment, action, version, current, comment)


def requester_user_id(session: Session, actor: Actor) -> int | None:
    """The person a change is requested by: the user, or the person behind the key (its
    creator, through any chain of keys that created keys); None when no person is."""
    if actor.user_id is not None:
        return actor.user_id
    if actor.key_id is None:
        return None
    record = session.get(ApiKey, actor.key_id)
    return keys.origin_of(session, record) if record is not None else None


def _open_request(
    session: Session,
    actor: Actor,
    prompt: Prompt,
    environment: str,
    action: str,
    version: PromptVersion,
    current: ActiveDeployment | None,
    comment: str | None,
) -> ChangeRequest:
    base = current.deployment_id if current else None
    same = session.scalar(
        select(ChangeRequest).where(
            ChangeRequest.prompt_id == prompt.id,
            ChangeRequest.environment == environment,
            ChangeRequest.status == "pending",
            ChangeRequest.action == action,
            ChangeRequest.version == version.version,
            ChangeRequest.base_deployment_id == base
            if base is not None
            else ChangeRequest.base_deployment_id.is_(None),
            ChangeRequest.requested_by == actor.label,
        )
    )
    if same is not None:  # asking twice is one request
        return same
    request = ChangeRequest(
        project_id=prompt.project_id,
        prompt_id=prompt.id,
        environment=environment,
        action=action,
        version=version.version,
        from_version=current.version if current else None,
        base_deployment_id=base,
        status="pending",
        comment=comment,
        requested_by=actor.label,
        requested_by_user_id=requester_user_id(session, actor),
        requested_by_key_id=actor.key_id,
    )
    session.add(request)
    session.flush()
    audit.record(
        session,
        actor,
        "change_request.opened",
        project_id=prompt.project_id,
        target_type="change_request",
        target=str(request.id),
        before={"version": request.from_version},
        after={
            "slug": prompt.slug,
            "environment": environment,
            "action": action,
            "version": version.version,
        },
    )
    return request
