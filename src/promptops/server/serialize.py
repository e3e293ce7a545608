"""ORM rows and domain views to response models of the API (the prompt payload:
domain.payloads); the models themselves are the contract's."""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from promptops.contract.deployments import ChangeRequestOut, DeploymentOut
from promptops.contract.projects import KeyCreated, KeyOut
from promptops.db.models import ChangeRequest, Deployment
from promptops.db.session import Session
from promptops.domain import prompts
from promptops.domain.approvals import ChangeRequestView, is_stale
from promptops.domain.keys import IssuedKey

__all__ = ["PENDING_RESPONSE", "change_request_out", "deployed_or_pending", "key_created"]


def key_created(issued: IssuedKey) -> KeyCreated:
    return KeyCreated(**KeyOut.model_validate(issued.record).model_dump(), key=issued.key)


def change_request_out(view: ChangeRequestView) -> ChangeRequestOut:
    r = view.request
    return ChangeRequestOut(
        id=r.id,
        slug=view.slug,
        environment=r.environment,
        action=r.action,
        version=r.version,
        from_version=r.from_version,
        status=r.status,
        stale=view.stale,
        comment=r.comment,
        requested_by=r.requested_by,
        decided_by=r.decided_by,
        decided_at=r.decided_at,
        decision_comment=r.decision_comment,
        deployment_id=r.deployment_id,
        created_at=r.created_at,
    )


PENDING_RESPONSE: dict[int | str, dict[str, Any]] = {
    202: {
        "model": ChangeRequestOut,
        "description": "The environment is protected: a pending change request was opened.",
    }
}


def deployed_or_pending(session: Session, row: Deployment | ChangeRequest) -> Any:
    """A deployment as 200, or the change request standing in for it as 202."""
    if isinstance(row, Deployment):
        return DeploymentOut.model_validate(row)
    slug = prompts.slug_of(session, row.prompt_id)
    stale = row.status == "pending" and is_stale(session, row)
    body = change_request_out(ChangeRequestView(row, slug, stale))
    return JSONResponse(body.model_dump(mode="json"), status_code=202)
