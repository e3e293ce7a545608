"""The wire shapes of agents (``/v1/agents``): an agent's own fields, its versions (the
workflow of :mod:`promptops.contract.agents` and a commit message), and its runs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from promptops.contract.agents import AgentVersionCreate
from promptops.contract.catalog import Description
from promptops.contract.fields import Environment, Input, JSONObject, Name, Output, Str
from promptops.contract.slugs import Slug

__all__ = [
    "FINISHED",
    "RUN_STATUSES",
    "AgentCreate",
    "AgentList",
    "AgentOut",
    "AgentVersionCreate",
    "AgentVersionList",
    "AgentVersionOut",
    "RunCreate",
    "RunCreated",
    "RunInput",
    "RunList",
    "RunOut",
    "RunStatus",
    "StepOut",
]

RunStatus = Literal["queued", "running", "waiting", "succeeded", "failed", "cancelled", "timed_out"]
RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "cancelled", "timed_out")
FINISHED = ("succeeded", "failed", "cancelled", "timed_out")


class AgentCreate(Input):
    slug: Slug
    name: Name
    description: Description | None = None


class AgentOut(Output):
    slug: str
    name: str
    description: str | None
    latest_version: int
    created_at: datetime
    updated_at: datetime
    deployments: dict[str, int | None] = Field(
        default_factory=dict, description="Active version per environment."
    )


class AgentList(BaseModel):
    data: list[AgentOut]
    next_cursor: str | None


class AgentVersionOut(BaseModel):
    slug: str
    version: int
    definition: dict[str, Any] = Field(description="The workflow (see docs/agents.md)")
    commit_message: str | None
    author: str | None
    created_at: datetime
    created: bool = Field(True, description="false: identical to the version active in dev")


class AgentVersionList(BaseModel):
    data: list[AgentVersionOut]
    next_cursor: int | None


class RunCreate(Input):
    """``POST /v1/agents/{slug}/runs``."""

    inputs: JSONObject = Field(default_factory=dict)
    version: Annotated[int, Field(strict=True, ge=1, le=2_147_483_647)] | None = Field(
        None, description="Run this version (default: the one active in the key's environment)"
    )
    environment: Environment | None = Field(
        None, description="Users only (a key runs in its own environment); default production"
    )
    idempotency_key: Str(200, 1) | None = Field(  # type: ignore[valid-type]
        None, description="A second request with the same key returns the same run"
    )
    callback_url: Str(2048, 1) | None = Field(  # type: ignore[valid-type]
        None,
        description="Gets the agent_run_completed event in a signed POST when the run"
        " finishes (as webhooks are signed; the secret is in the 202)",
    )


class RunInput(Input):
    """``POST /v1/agents/{slug}/runs/{id}/input``: what a waiting step receives."""

    input: Any = Field(description="Any JSON value; the wait step's output")


class StepOut(Output):
    key: str = Field(description="The step's name; name[i] for a map's item i")
    name: str
    type: str
    status: str
    input: Any | None
    output: Any | None
    error: str | None
    attempts: int
    input_tokens: int
    output_tokens: int
    cost: float
    started_at: datetime
    finished_at: datetime | None


class RunOut(Output):
    id: str
    agent: str = ""
    version: int
    environment: str
    status: RunStatus
    inputs: dict[str, Any]
    output: Any | None
    error: str | None
    idempotency_key: str | None
    callback_url: str | None
    steps_run: int
    input_tokens: int
    output_tokens: int
    cost: float
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[StepOut] = Field(default_factory=list)


class RunCreated(BaseModel):
    run_id: str
    status: RunStatus
    created: bool = Field(description="false: the idempotency key named an existing run")
    callback_secret: str | None = Field(
        None,
        description="The secret the callback_url POST is signed with (Standard Webhooks,"
        " as webhooks are), shown here once; null without callback_url and on a repeat",
    )


class RunList(BaseModel):
    data: list[RunOut]
    next_cursor: str | None
