"""The prompt payload: a version as the API, the stream and webhooks send it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["ActivePromptOut", "VersionCreated", "VersionOut"]


class VersionOut(BaseModel):
    slug: str
    version: int
    system_prompt: str
    user_template: str
    variables: list[str]
    model: str
    temperature: float
    max_tokens: int | None
    metadata: dict[str, Any]
    commit_message: str | None
    author: str | None
    created_at: datetime


class VersionCreated(VersionOut):
    created: bool = Field(
        description="false when the content equals the version active in dev: nothing was"
        " created and this is that version (status 200 instead of 201)"
    )


class ActivePromptOut(VersionOut):
    environment: str
    deployed_at: datetime
    deployment_id: int
