"""Rows to the contract's payloads, where more than one part sends them (the API routes, the
hot path, the event log)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from promptops.contract.content import legacy_shape
from promptops.contract.prompts import VersionOut
from promptops.db.models import Prompt, PromptVersion
from promptops.domain.snippets import references, resolve

__all__ = ["resolved_out", "version_out"]


def version_out(
    prompt: Prompt,
    version: PromptVersion,
    *,
    messages: list[dict[str, Any]] | None = None,
    text: str | None = None,
    snippets: list[dict[str, Any]] | None = None,
) -> VersionOut:
    """The payload of ``version``: its content as written (``snippets``: its references,
    version null when unpinned), or (``messages``/``text`` given) as resolved, with the
    ``snippets`` used."""
    if messages is None and text is None:
        messages, text = version.messages, version.text
        if snippets is None:
            snippets = references({"messages": messages, "text": text})
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


def resolved_out(
    session: Session, prompt: Prompt, version: PromptVersion, environment: str
) -> VersionOut:
    """The payload of ``version`` as served in ``environment``: snippets resolved (raises
    :class:`promptops.domain.snippets.SnippetError`)."""
    done = resolve(session, prompt, version, environment)
    return version_out(
        prompt, version, messages=done.messages, text=done.text, snippets=done.snippets
    )
