"""``/v1/sync``: what ``promptops sync`` sends and receives.

- ``GET /v1/sync``: every prompt of the project with the content hash of its latest version
  and of the version active in each environment (one request tells a push which files
  changed).
- ``GET /v1/sync/files``: every prompt with one version (the latest, or the one active in
  an environment): what ``sync pull`` writes.
- ``POST /v1/sync``: a set of prompt and agent files, applied in one transaction: missing
  prompts (and agents) are created, a version is made for each file whose content differs
  from its prompt's latest version, and (``promote``) each file's latest version is
  deployed, all or nothing.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from promptops.contract.fields import Environment, Input, Str
from promptops.contract.gitops import AnyFileIn
from promptops.contract.prompts import VersionOut

__all__ = [
    "MAX_SYNC_FILES",
    "ActiveHash",
    "PromptHead",
    "PromptState",
    "SyncFile",
    "SyncFiles",
    "SyncPush",
    "SyncPushed",
    "SyncResult",
    "SyncState",
]

MAX_SYNC_FILES = 10_000


class ActiveHash(BaseModel):
    version: int
    hash: str


class PromptState(BaseModel):
    slug: str
    type: str
    name: str
    description: str | None
    latest_version: int = Field(description="0 when the prompt has no version yet")
    hash: str | None = Field(description="Content hash of the latest version (null: none)")
    environments: dict[str, ActiveHash | None] = Field(
        description="Per environment, the active version and its content hash (null: none)"
    )


class SyncState(BaseModel):
    """``GET /v1/sync``."""

    prompts: list[PromptState]


class PromptHead(BaseModel):
    slug: str
    type: str
    name: str
    description: str | None


class SyncFile(BaseModel):
    prompt: PromptHead
    version: VersionOut
    definition: dict[str, Any] | None = Field(
        None, description="An agent's (type agent) workflow at this version; null for prompts"
    )


class SyncFiles(BaseModel):
    """``GET /v1/sync/files``: the prompts that have a version there, by slug."""

    environment: str | None = Field(description="null: each prompt's latest version")
    files: list[SyncFile]


class SyncPush(Input):
    """``POST /v1/sync``."""

    files: Annotated[list[AnyFileIn], Field(min_length=1, max_length=MAX_SYNC_FILES)] = Field(
        description="Prompt files, and agent files (type agent, with a definition)"
    )
    promote: Environment | None = Field(
        None, description="Deploy each file's latest version to this environment too"
    )
    commit_message: Str(2000) | None = None  # type: ignore[valid-type]
    dry_run: Annotated[bool, Field(strict=True)] = Field(
        False, description="Check and report everything, store nothing"
    )


class SyncResult(BaseModel):
    slug: str
    prompt: Literal["created", "updated", "unchanged"] = Field(
        description="created (new prompt), updated (its name or description changed)"
    )
    version: int = Field(description="The prompt's latest version after the push")
    version_created: bool
    promoted: bool = Field(description="Its latest version became active in `promote`")


class SyncPushed(BaseModel):
    dry_run: bool
    promote: str | None
    results: list[SyncResult]
    created_versions: int
    created_prompts: int
    promoted: int
