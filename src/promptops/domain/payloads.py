"""Rows to the contract's payloads, where more than one part sends them (the API routes, the
hot path, the event log)."""

from __future__ import annotations

from promptops.contract.prompts import VersionOut
from promptops.db.models import Prompt, PromptVersion

__all__ = ["version_out"]


def version_out(prompt: Prompt, version: PromptVersion) -> VersionOut:
    return VersionOut(
        slug=prompt.slug,
        version=version.version,
        system_prompt=version.system_prompt,
        user_template=version.user_template,
        variables=list(version.variables),
        model=version.model,
        temperature=version.temperature,
        max_tokens=version.max_tokens,
        metadata=version.meta,
        commit_message=version.commit_message,
        author=version.author,
        created_at=version.created_at,
    )
