"""The HTTP contract: request and response bodies (pydantic), documented in OpenAPI.

Input models forbid unknown fields (a typo is an error, not silently ignored), refuse wrong
types instead of coercing them, and refuse text a database cannot store faithfully (NUL,
lone surrogates) or numbers JSON cannot carry (NaN, infinity).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from promptops.contract.content import PromptType
from promptops.contract.fields import Input, Name, Output, Str
from promptops.contract.prompts import VersionOut

Environment = Literal["dev", "staging", "production"]
Role = Literal["read", "write"]

# ---- errors ---------------------------------------------------------------------------


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None


class ErrorBody(BaseModel):
    error: ErrorDetail


# ---- projects and keys ----------------------------------------------------------------


class ProjectCreate(Input):
    name: Name


class ProjectOut(Output):
    id: str
    name: str
    created_at: datetime


class KeyCreate(Input):
    environment: Environment
    role: Role = "read"
    name: Str(200) | None = None  # type: ignore[valid-type]
    project_id: Str(64) | None = None  # type: ignore[valid-type]
    can_bypass_protection: Annotated[bool, Field(strict=True)] = Field(
        False,
        description="May change protected environments without an approval (instance admin"
        " or project owner only; recorded in the audit log).",
    )


class KeyOut(Output):
    prefix: str
    project_id: str | None
    environment: str | None
    role: str
    name: str | None
    created_by: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    can_bypass_protection: bool = Field(
        False, exclude_if=lambda v: not v, description="Present (true) only on bypass keys."
    )


class KeyCreated(KeyOut):
    key: str = Field(description="The full key. Shown only in this response; store it now.")


class ProjectCreated(BaseModel):
    project: ProjectOut
    api_key: KeyCreated


# ---- prompts and versions -------------------------------------------------------------


class PromptCreate(Input):
    slug: Str(100, 1)  # type: ignore[valid-type]
    type: PromptType = Field(
        "chat", description="chat (messages) or text (one template; what snippets are); fixed"
    )
    name: Name
    description: Str(5000) | None = None  # type: ignore[valid-type]


class PromptUpdate(Input):
    name: Name | None = None
    description: Str(5000) | None = None  # type: ignore[valid-type]


class PromptOut(Output):
    slug: str
    type: str
    name: str
    description: str | None
    latest_version: int
    created_at: datetime
    updated_at: datetime
    deployments: dict[str, int | None] = Field(
        default_factory=dict, description="Active version per environment."
    )


class PromptList(BaseModel):
    data: list[PromptOut]
    next_cursor: str | None


class VersionList(BaseModel):
    data: list[VersionOut]
    next_cursor: int | None


# ---- deployments ----------------------------------------------------------------------


class PromoteRequest(Input):
    version: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)] | None = None
    from_environment: Environment | None = None
    comment: Str(2000) | None = Field(  # type: ignore[valid-type]
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


# ---- audit ----------------------------------------------------------------------------


class AuditEventOut(Output):
    id: int
    project_id: str | None
    actor: str | None
    action: str
    target_type: str
    target: str | None
    before: Any
    after: Any
    created_at: datetime


class AuditList(BaseModel):
    data: list[AuditEventOut]
    next_cursor: int | None
