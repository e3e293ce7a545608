"""Deciding change requests of protected environments: approve, reject, withdraw.

The rule is "requested by one person, approved by another": the approver is a user with the
admin or owner role in the project and not the requester. A request made with an API key
counts as made by the person behind the key (``api_keys.origin_user_id``: its creator, or
the origin of the key that created it), recorded as ``requested_by_user_id``; a request with
no person behind it (instance admin key, bootstrap keys) is approved by any admin or owner,
and never by a key of the requesting key's chain (see :func:`_require_not_requester`).
Approval applies the change with the approver as the actor of the deployment (history and
audit log), and announces a
``label_change_approved`` change (webhooks: ``prompt_template_label_change_approved``). A
request whose environment moved since it was made is stale: approving it is refused (409),
and so is approving a promotion whose version lacks a passing result of an eval the
environment requires (:mod:`promptops.domain.evals`), until one is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promptops.db.models import (
    ActiveDeployment,
    ApiKey,
    ChangeRequest,
    Deployment,
    Prompt,
    PromptVersion,
    utcnow,
)
from promptops.domain import audit, changes, evals, keys, protection
from promptops.domain.access import APPROVER_ROLES, Actor
from promptops.domain.deployments import deploy
from promptops.domain.errors import ConflictError, NotFoundError, PermissionDeniedError

__all__ = [
    "ChangeRequestView",
    "approve",
    "get_request",
    "is_stale",
    "list_requests",
    "pending_count",
    "reject",
    "withdraw",
]

Status = Literal["pending", "approved", "rejected", "withdrawn"]
STATUSES: tuple[str, ...] = ("pending", "approved", "rejected", "withdrawn")


@dataclass(frozen=True)
class ChangeRequestView:
    """A request with what a reader needs beside it: the prompt's slug and staleness."""

    request: ChangeRequest
    slug: str
    stale: bool


def _current_id(session: Session, prompt_id: int, environment: str) -> int | None:
    row = session.get(ActiveDeployment, (prompt_id, environment))
    return row.deployment_id if row else None


def pending_count(session: Session, project_id: str) -> int:
    """How many change requests of the project wait for a decision."""
    count = session.scalar(
        select(func.count())
        .select_from(ChangeRequest)
        .where(ChangeRequest.project_id == project_id, ChangeRequest.status == "pending")
    )
    return int(count or 0)


def is_stale(session: Session, request: ChangeRequest) -> bool:
    """True when the environment moved since the request was made."""
    return _current_id(session, request.prompt_id, request.environment) != (
        request.base_deployment_id
    )


def _view(session: Session, request: ChangeRequest, slug: str) -> ChangeRequestView:
    stale = request.status == "pending" and is_stale(session, request)
    return ChangeRequestView(request, slug, stale)


def list_requests(
    session: Session,
    project_id: str,
    *,
    status: str | None = None,
    slug: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[ChangeRequestView]:
    query = (
        select(ChangeRequest, Prompt.slug)
        .join(Prompt, Prompt.id == ChangeRequest.prompt_id)
        .where(ChangeRequest.project_id == project_id)
        .order_by(ChangeRequest.id.desc())
        .limit(limit)
    )
    if status is not None:
        query = query.where(ChangeRequest.status == status)
    if slug is not None:
        query = query.where(Prompt.slug == slug)
    if before_id is not None:
        query = query.where(ChangeRequest.id < before_id)
    return [_view(session, request, s) for request, s in session.execute(query)]


def get_request(
    session: Session, project_id: str, request_id: int, *, lock: bool = False
) -> ChangeRequestView:
    query = (
        select(ChangeRequest, Prompt.slug)
        .join(Prompt, Prompt.id == ChangeRequest.prompt_id)
        .where(ChangeRequest.project_id == project_id, ChangeRequest.id == request_id)
    )
    if lock:
        query = query.with_for_update(of=ChangeRequest)
    found = session.execute(query).first()
    if found is None:
        raise NotFoundError(f"change request {request_id} not found")
    return _view(session, found[0], found[1])


def _pending(session: Session, actor: Actor, request_id: int) -> tuple[ChangeRequest, str]:
    view = get_request(session, actor.project_for(None), request_id, lock=True)
    request = view.request
    if request.status != "pending":
        raise ConflictError(f"change request {request_id} is already {request.status}")
    return request, view.slug


def _decide(request: ChangeRequest, actor: Actor, status: Status, comment: str | None) -> None:
    request.status = status
    request.decided_by = actor.label
    request.decided_by_user_id = actor.user_id
    request.decided_at = utcnow()
    request.decision_comment = comment


def _require_approver(actor: Actor, doing: str) -> None:
    if not actor.is_user:
        raise PermissionDeniedError(
            f"{doing} a change request needs a person (a user with role admin or owner),"
            " not an API key"
        )
    actor.require_member_role(APPROVER_ROLES, f"{doing} a change request")


def _require_not_requester(session: Session, request: ChangeRequest, actor: Actor) -> None:
    """Nobody approves their own request: not the requesting person (directly, or through
    a key they made), not the requesting key, not a key of the same chain of keys."""
    requester = request.requested_by_user_id
    if requester is not None and actor.user_id == requester:
        via_key = request.requested_by_key_id is not None
        raise PermissionDeniedError(
            "you requested this change"
            + (f" (with API key {request.requested_by}, which acts for you)" if via_key else "")
            + "; another admin or owner must approve it"
        )
    if actor.key_id is None:
        return
    if request.requested_by_key_id == actor.key_id:
        raise PermissionDeniedError(
            "this key requested the change; another admin or owner must approve it"
        )
    record = session.get(ApiKey, actor.key_id)
    origin = keys.origin_of(session, record) if record is not None else None
    if requester is not None and origin == requester:
        raise PermissionDeniedError(
            "this key acts for the person who requested the change; another admin or owner"
            " must approve it"
        )
    if request.requested_by_key_id is not None and keys.chain_root(
        session, request.requested_by_key_id
    ) == keys.chain_root(session, actor.key_id):
        raise PermissionDeniedError(
            "this key comes from the same chain of keys as the one that requested the change;"
            " another admin or owner must approve it"
        )


def approve(
    session: Session, actor: Actor, request_id: int, *, comment: str | None = None
) -> tuple[ChangeRequest, Deployment]:
    """Apply a pending request as ``actor`` (admin/owner, not the requester)."""
    request, slug = _pending(session, actor, request_id)
    _require_approver(actor, "approving")
    # After the role check (an editor is told it needs the role); the key branches of this
    # check stand guard should keys ever be allowed to approve.
    _require_not_requester(session, request, actor)
    prompt = session.scalar(select(Prompt).where(Prompt.id == request.prompt_id).with_for_update())
    assert prompt is not None
    current = session.get(ActiveDeployment, (prompt.id, request.environment))
    if (current.deployment_id if current else None) != request.base_deployment_id:
        now = f"v{current.version}" if current else "nothing"
        was = f"v{request.from_version}" if request.from_version is not None else "nothing"
        raise ConflictError(
            f"change request {request.id} is stale: {request.environment!r} has changed since it"
            f" was requested (it was at {was}, it is now at {now}); reject or withdraw it and"
            " request the change again"
        )
    if request.action == "promote":  # the environment's required evals must pass first
        target = _target(session, prompt, request.version)
        required = protection.required_evals(session, prompt.project_id, request.environment)
        evals.require(session, prompt, target, request.environment, required)
    row = _apply(session, actor, prompt, request, current)
    _decide(request, actor, "approved", comment)
    request.deployment_id = row.id
    audit.record(
        session,
        actor,
        "change_request.approved",
        project_id=request.project_id,
        target_type="change_request",
        target=str(request.id),
        before={"version": request.from_version},
        after={
            "slug": slug,
            "environment": request.environment,
            "action": request.action,
            "version": request.version,
            "requested_by": request.requested_by,
        },
    )
    changes.record(
        session,
        changes.Change(
            "label_change_approved",
            request.project_id,
            slug=slug,
            environment=request.environment,
            version=row.version,
            previous_version=row.previous_version,
            action=request.action,
            actor=actor.label,
            deployment_id=row.id,
            data={"change_request_id": request.id, "requested_by": request.requested_by},
        ),
    )
    return request, row


def _target(session: Session, prompt: Prompt, number: int) -> PromptVersion:
    version = session.scalar(
        select(PromptVersion).where(
            PromptVersion.prompt_id == prompt.id, PromptVersion.version == number
        )
    )
    assert version is not None  # versions are never deleted
    return version


def _apply(
    session: Session,
    actor: Actor,
    prompt: Prompt,
    request: ChangeRequest,
    current: ActiveDeployment | None,
) -> Deployment:
    if request.action == "promote":
        version = _target(session, prompt, request.version)
        return deploy(session, actor, prompt, request.environment, version, action="promote")
    # A rollback: the environment is where it was when requested (not stale), so the
    # deployment it returns to is the one its current deployment replaced.
    assert current is not None
    row = session.get(Deployment, current.deployment_id)
    previous = session.get(Deployment, row.previous_deployment_id) if row else None
    if previous is None:
        raise ConflictError(f"{request.environment!r} has no previous version to roll back to")
    back = session.get(PromptVersion, previous.version_id)
    assert back is not None
    return deploy(
        session,
        actor,
        prompt,
        request.environment,
        back,
        action="rollback",
        previous_deployment_id=previous.previous_deployment_id,
        stack_from_current=False,
    )


def reject(
    session: Session, actor: Actor, request_id: int, *, comment: str | None = None
) -> ChangeRequest:
    request, slug = _pending(session, actor, request_id)
    _require_approver(actor, "rejecting")
    _decide(request, actor, "rejected", comment)
    _record(session, actor, request, "change_request.rejected", slug)
    return request


def withdraw(session: Session, actor: Actor, request_id: int) -> ChangeRequest:
    """The requester takes the request back: the same API key, or the requesting person
    (who made it directly or through a key acting for them)."""
    request, slug = _pending(session, actor, request_id)
    by_key = request.requested_by_key_id is not None
    mine = (by_key and request.requested_by_key_id == actor.key_id) or (
        request.requested_by_user_id is not None and request.requested_by_user_id == actor.user_id
    )
    if not mine:
        raise PermissionDeniedError("only the requester can withdraw a change request")
    _decide(request, actor, "withdrawn", None)
    _record(session, actor, request, "change_request.withdrawn", slug)
    return request


def _record(session: Session, actor: Actor, request: ChangeRequest, action: str, slug: str) -> None:
    audit.record(
        session,
        actor,
        action,
        project_id=request.project_id,
        target_type="change_request",
        target=str(request.id),
        after={
            "slug": slug,
            "environment": request.environment,
            "version": request.version,
            "comment": request.decision_comment,
        },
    )
