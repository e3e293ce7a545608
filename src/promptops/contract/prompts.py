"""The prompt payload: a version as the API, the stream and webhooks send it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Discriminator, Field, Tag

from promptops.contract.content import PromptType, Role, message_kind

__all__ = [
    "ActivePromptOut",
    "FunctionOut",
    "InputOut",
    "MessageOut",
    "PlaceholderOut",
    "SnippetRef",
    "ToolOut",
    "VersionCreated",
    "VersionOut",
]


def _none(value: Any) -> bool:
    return value is None


class MessageOut(BaseModel):
    role: Role
    content: str
    name: str | None = Field(None, exclude_if=_none)
    tool_call_id: str | None = Field(None, exclude_if=_none)


class PlaceholderOut(BaseModel):
    type: Literal["placeholder"]
    name: str


class FunctionOut(BaseModel):
    name: str
    description: str | None = Field(None, exclude_if=_none)
    parameters: dict[str, Any]
    strict: bool | None = Field(None, exclude_if=_none)


class ToolOut(BaseModel):
    type: Literal["function"]
    function: FunctionOut


class InputOut(BaseModel):
    name: str
    type: Literal["string", "number", "boolean", "list", "object"]
    required: bool
    description: str | None = Field(None, exclude_if=_none)


class SnippetRef(BaseModel):
    """A text prompt included with ``{{> slug}}`` (``version`` null: as active in the
    environment) or ``{{> slug@3}}``; in resolved content, the version used."""

    slug: str
    version: int | None


class VersionOut(BaseModel):
    slug: str
    type: PromptType = Field(description="chat (messages) or text (text)")
    version: int
    messages: (
        list[
            Annotated[
                Annotated[MessageOut, Tag("message")]
                | Annotated[PlaceholderOut, Tag("placeholder")],
                Discriminator(message_kind),
            ]
        ]
        | None
    ) = Field(description="A chat version's messages (templates) and placeholders; null for text")
    text: str | None = Field(description="A text version's template; null for chat")
    system_prompt: str | None = Field(
        description="Older shape: set when the messages are one optional system message and"
        " one user message, else null"
    )
    user_template: str | None = Field(description="Older shape: see system_prompt")
    variables: list[str]
    inputs: list[InputOut] = Field(default_factory=list)
    model: str
    temperature: float
    max_tokens: int | None
    params: dict[str, Any] = Field(
        default_factory=dict,
        description="top_p, stop, seed, presence_penalty, frequency_penalty, reasoning_effort"
        " (only those set)",
    )
    tools: list[ToolOut] | None = None
    tool_choice: str | None = None
    response_format: dict[str, Any] | None = None
    snippets: list[SnippetRef] = Field(
        default_factory=list, description="The text prompts this content includes"
    )
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
