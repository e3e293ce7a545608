"""Rows to the contract's payloads, where more than one part sends them (the API routes, the
hot path, the event log)."""

from __future__ import annotations

from typing import Any

from promptops.contract.content import legacy_shape
from promptops.contract.prompts import VersionOut
from promptops.db.models import Prompt, PromptVersion

__all__ = ["version_out"]


def version_out(
    prompt: Prompt,
    version: PromptVersion,
    *,
    messages: list[dict[str, Any]] | None = None,
    text: str | None = None,
    snippets: list[dict[str, Any]] | None = None,
) -> VersionOut:
    """The payload of ``version``: its content as written, or (``messages``/``text``
    given) as resolved, with the ``snippets`` used."""
    if messages is None and text is None:
        messages, text = version.messages, version.text
    legacy = legacy_shape(messages)
    return VersionOut(
        slug=prompt.slug,
        type="text" if text is not None else "chat",
        version=version.version,
        messages=messages,
        text=text,
        system_prompt=legacy[0] if legacy else None,
        user_template=legacy[1] if legacy else None,
        variables=list(version.variables),
        inputs=version.inputs or [],
        model=version.model,
        temperature=version.temperature,
        max_tokens=version.max_tokens,
        params=version.params or {},
        tools=version.tools,
        tool_choice=version.tool_choice,
        response_format=version.response_format,
        snippets=snippets or [],
        metadata=version.meta,
        commit_message=version.commit_message,
        author=version.author,
        created_at=version.created_at,
    )
