"""The dependents of a snippet: ``GET /v1/prompts/{slug}/dependents``."""

from __future__ import annotations

from pydantic import BaseModel, Field

__all__ = ["DependentList", "DependentOut", "IncludingVersion"]


class IncludingVersion(BaseModel):
    """A version of the dependent that includes the snippet: ``{{> slug}}``
    (``pinned_version`` null) or ``{{> slug@3}}``."""

    version: int
    pinned_version: int | None


class DependentOut(BaseModel):
    """A prompt whose templates include the snippet directly."""

    slug: str
    name: str
    versions: list[IncludingVersion] = Field(
        description="Its versions that include it, newest first"
    )
    environments: dict[str, int] = Field(
        description="Per environment, its active version there when that version includes it"
    )


class DependentList(BaseModel):
    data: list[DependentOut]
