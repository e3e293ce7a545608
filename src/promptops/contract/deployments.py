"""Deployments (promote, roll back, history), protected environments, change requests and
their decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from promptops.contract.evals import RequiredEval, RequiredEvals
from promptops.contract.fields import Environment, Input, Output, Str

__all__ = [
    "ActiveDeploymentOut",
    "ApprovalOut",
    "ChangeRequestList",
    "ChangeRequestOut",
    "Comment",
    "Decision",
    "DeploymentHistory",
    "DeploymentOut",
    "DeploymentsOut",
    "EnvironmentOut",
    "EnvironmentUpdate",
    "PromoteRequest",
]

Comment = Str(2000)


class PromoteRequest(Input):
    version: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)] | None = None
    from_environment: Environment | None = None
    comment: Comment | None = Field(  # type: ignore[valid-type]
        None, description="A note for the approver when the environment is protected."
    )


class DeploymentOut(Output):
    id: int
    environment: str
    version: int
    previous_version: int | None
    action: str
    actor: str | None
    created_at: datetime


class ActiveDeploymentOut(BaseModel):
    version: int
    deployment_id: int
    deployed_at: datetime


class DeploymentsOut(BaseModel):
    slug: str
    environments: dict[str, ActiveDeploymentOut | None]


class DeploymentHistory(BaseModel):
    data: list[DeploymentOut]
    next_cursor: int | None


# ---- protected environments and change requests ------------------------------------------


class EnvironmentOut(BaseModel):
    name: str
    protected: bool
    required_evals: list[RequiredEval] = Field(
        description="Promotion here needs a passing latest result of each (see evals)."
    )


class EnvironmentUpdate(Input):
    """What to change; a field left out keeps its value."""

    protected: Annotated[bool, Field(strict=True)] | None = None
    required_evals: RequiredEvals | None = Field(
        None,
        description="The evals a version needs to be promoted here: its latest result of"
        " each name passed with a score of at least min_score. [] requires none.",
    )


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
    comment: Comment | None = None  # type: ignore[valid-type]


class ApprovalOut(BaseModel):
    change_request: ChangeRequestOut
    deployment: DeploymentOut
