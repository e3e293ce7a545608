"""Projects and API keys: create bodies and what the API returns."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from promptops.contract.fields import Environment, Input, Name, Output, Role, Str

__all__ = [
    "KeyCreate",
    "KeyCreated",
    "KeyOut",
    "ProjectCreate",
    "ProjectCreated",
    "ProjectOut",
]


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
