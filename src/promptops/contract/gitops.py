"""GitOps: a prompt file (``prompts/<slug>.yaml``: the prompt's own fields and the content of
one version), an agent file (the same with ``type: agent`` and the version's workflow in
``definition``) and the content hash that says whether a file and a version hold the same
content. The sync bodies (``GET``/``POST /v1/sync``) are :mod:`promptops.contract.sync`.

The hash is computed here, once, for both sides: the CLI hashes a parsed file, the server a
stored version (their columns, the shape :func:`promptops.contract.content.stored_content`
gives), so the same content has the same hash wherever it was written.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import Discriminator, Field, Tag, model_validator

from promptops.contract.agents import AgentDefinition, file_definition, stored_columns
from promptops.contract.catalog import Description
from promptops.contract.content import ContentIn, PromptType
from promptops.contract.fields import Input, Name
from promptops.contract.slugs import Slug

__all__ = [
    "CONTENT_COLUMNS",
    "FILE_FIELDS",
    "PROMPT_FIELDS",
    "AgentFileIn",
    "AnyFileIn",
    "PromptFileIn",
    "content_hash",
    "without_git",
]

# The prompt's own fields, then the version content, in the order a file is written.
PROMPT_FIELDS: tuple[str, ...] = ("slug", "name", "description", "type")
FILE_FIELDS: tuple[str, ...] = (
    *PROMPT_FIELDS,
    "definition",
    "messages",
    "text",
    "tools",
    "tool_choice",
    "response_format",
    "model",
    "temperature",
    "max_tokens",
    "params",
    "inputs",
    "metadata",
)
# The columns of a version's content (what stored_content returns), hashed in this order
# (then an agent version's ``definition``).
CONTENT_COLUMNS: tuple[str, ...] = (
    "messages",
    "text",
    "model",
    "temperature",
    "max_tokens",
    "params",
    "inputs",
    "tools",
    "tool_choice",
    "response_format",
    "meta",
)


class PromptFileIn(ContentIn):
    """A prompt file: one prompt (slug, name, description, type) and its content (the
    fields of a version, as in ``POST /v1/prompts/{slug}/versions``). Written by
    ``promptops sync pull``, read by ``sync push`` and ``sync status``."""

    slug: Slug
    name: Name
    description: Description | None = None
    # ``type`` in the file (ContentIn.type is the property saying which the content holds)
    prompt_type: PromptType = Field(
        "chat",
        alias="type",
        description="chat (messages) or text (text; what snippets are); fixed",
    )

    @model_validator(mode="after")
    def _type_matches(self) -> Self:
        holds = "text" if self.text is not None else "chat"
        if holds != self.prompt_type:
            wanted = "messages" if self.prompt_type == "chat" else "text"
            raise ValueError(f"type: a {self.prompt_type} prompt's file holds {wanted}")
        return self

    def content(self) -> dict[str, Any]:
        """The version create body (``VersionCreate`` fields) the file holds."""
        head = {"slug", "name", "description", "prompt_type"}
        return self.model_dump(exclude_none=True, by_alias=True, exclude=head)


class AgentFileIn(Input):
    """An agent file: one agent (slug, name, description, ``type: agent``) and the workflow
    of a version in ``definition`` (as in ``POST /v1/agents/{slug}/versions``)."""

    slug: Slug
    name: Name
    description: Description | None = None
    prompt_type: Literal["agent"] = Field(alias="type", description="agent; fixed")
    definition: AgentDefinition

    def content(self) -> dict[str, Any]:
        """What the file holds of the version: ``{"definition": ...}`` as files write it."""
        return {"definition": file_definition(self.definition)}

    def stored(self) -> dict[str, Any]:
        """The version's columns (what the server stores and :func:`content_hash` reads)."""
        return stored_columns(self.definition)


def _file_kind(value: Any) -> str:
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "prompt_type", None)
    return "agent" if kind == "agent" else "prompt"


AnyFileIn = Annotated[
    Annotated[PromptFileIn, Tag("prompt")] | Annotated[AgentFileIn, Tag("agent")],
    Discriminator(_file_kind),
]


def without_git(meta: Mapping[str, Any] | None) -> dict[str, Any]:
    """A version's metadata without the ``git`` origin sync push records (which is not
    content: the same file pushed from two commits is the same prompt)."""
    return {k: v for k, v in (meta or {}).items() if k != "git"}


def _canonical(value: Any) -> Any:
    """JSON as JSON means it: ``1.0`` is ``1`` (a float column), ``true`` stays ``true``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def content_hash(stored: Mapping[str, Any]) -> str:
    """``sha256:<hex>`` of a version's content columns (``metadata.git`` left out; an empty
    list or object is the same as none)."""
    canon: list[Any] = []
    for column in CONTENT_COLUMNS:
        value = stored.get(column)
        if column == "meta":
            value = without_git(value)
        if value in ({}, []):
            value = None
        canon.append(_canonical(value))
    definition = stored.get("definition")
    if definition is not None:  # an agent's workflow (prompts' hashes stay what they were)
        canon.append(_canonical(definition))
    text = json.dumps(canon, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()
