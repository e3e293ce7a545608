"""ORM rows to response models, shared by the API routes and the hot path."""

from __future__ import annotations

from promptops.db.models import Prompt, PromptVersion
from promptops.domain.keys import IssuedKey
from promptops.server.api.schemas import KeyCreated, KeyOut, VersionOut

__all__ = ["key_created", "version_out"]


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


def key_created(issued: IssuedKey) -> KeyCreated:
    return KeyCreated(**KeyOut.model_validate(issued.record).model_dump(), key=issued.key)
