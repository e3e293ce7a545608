"""Users, project members and personal tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from promptops.contract.fields import Input, Output, Str

__all__ = [
    "MeOut",
    "MemberOut",
    "MemberRole",
    "MemberSet",
    "MembershipOut",
    "TokenCreate",
    "TokenCreated",
    "TokenOut",
    "UserCreate",
    "UserCreated",
    "UserOut",
]

MemberRole = Literal["owner", "admin", "editor", "viewer"]


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
