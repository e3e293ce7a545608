"""A prompt's own fields (slug, type, name, description: create and update bodies) and the
lists of prompts and versions. The version content is :mod:`promptops.contract.content`,
the prompt payload :mod:`promptops.contract.prompts`."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from promptops.contract.content import PromptType
from promptops.contract.fields import Input, Name, Output, Str
from promptops.contract.prompts import VersionOut
from promptops.contract.slugs import Slug

__all__ = ["Description", "PromptCreate", "PromptList", "PromptOut", "PromptUpdate", "VersionList"]

Description = Str(5000)


class PromptCreate(Input):
    slug: Slug
    type: PromptType = Field(
        "chat", description="chat (messages) or text (one template; what snippets are); fixed"
    )
    name: Name
    description: Description | None = None  # type: ignore[valid-type]


class PromptUpdate(Input):
    name: Name | None = None
    description: Description | None = None  # type: ignore[valid-type]


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
