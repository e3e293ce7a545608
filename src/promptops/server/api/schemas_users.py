"""The HTTP contract of users, members, personal tokens, protected environments and change
requests (the rest is in :mod:`promptops.server.api.schemas`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from promptops.db.models import ChangeRequest, Deployment
from promptops.db.session import Session
from promptops.domain import prompts
from promptops.domain.approvals import ChangeRequestView, is_stale
from promptops.server.api.schemas import DeploymentOut, Input, Output, Str

__all__ = [
    "PENDING_RESPONSE",
    "ApprovalOut",
    "ChangeRequestList",
    "ChangeRequestOut",
    "Decision",
    "EnvironmentOut",
    "EnvironmentUpdate",
    "MeOut",
    "MemberOut",
    "MemberSet",
    "TokenCreate",
    "TokenCreated",
    "TokenOut",
    "UserCreate",
    "UserCreated",
    "UserOut",
    "change_request_out",
    "deployed_or_pending",
]

MemberRole = Literal["owner", "admin", "editor", "viewer"]


# ---- users and members -------------------------------------------------------------------


class UserCreate(Input):
    email: Str(254, 3)  # type: ignore[valid-type]
    password: Str(1024) | None = Field(  # type: ignore[valid-type]
        None, description="At least 8 characters; generated (and returned once) when omitted."
    )
    is_instance_admin: Annotated[bool, Field(strict=True)] = False


class UserOut(Output):
    id: int
    email: str
    is_instance_admin: bool
    disabled: bool
    created_at: datetime


class UserCreated(UserOut):
    password: str | None = Field(None, description="The generated password, shown once.")


class MembershipOut(BaseModel):
    project_id: str
    project_name: str
    role: MemberRole


class MeOut(BaseModel):
    id: int
    email: str
    is_instance_admin: bool
    projects: list[MembershipOut]


class MemberSet(Input):
    email: Str(254, 3)  # type: ignore[valid-type]
    role: MemberRole


class MemberOut(BaseModel):
    email: str
    role: MemberRole
    created_at: datetime


# ---- personal tokens -----------------------------------------------------------------------


class TokenCreate(Input):
    name: Str(200) | None = None  # type: ignore[valid-type]


class TokenOut(Output):
    prefix: str
    name: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="The full token. Shown only in this response; store it now.")


# ---- protected environments and change requests ------------------------------------------


class EnvironmentOut(BaseModel):
    name: str
    protected: bool


class EnvironmentUpdate(Input):
    protected: Annotated[bool, Field(strict=True)]


class ChangeRequestOut(BaseModel):
    id: int
    slug: str
    environment: str
    action: str = Field(description="promote | rollback")
    version: int = Field(description="The version the environment would have.")
    from_version: int | None = Field(description="Its version when the request was made.")
    status: str = Field(description="pending | approved | rejected | withdrawn")
    stale: bool = Field(
        description="Pending, but the environment has moved since: it cannot be approved."
    )
    comment: str | None
    requested_by: str
    decided_by: str | None
    decided_at: datetime | None
    decision_comment: str | None
    deployment_id: int | None
    created_at: datetime


class ChangeRequestList(BaseModel):
    data: list[ChangeRequestOut]
    next_cursor: int | None


class Decision(Input):
    comment: Str(2000) | None = None  # type: ignore[valid-type]


class ApprovalOut(BaseModel):
    change_request: ChangeRequestOut
    deployment: DeploymentOut


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
