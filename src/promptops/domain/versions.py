"""Immutable prompt versions, numbered 1, 2, 3, ... per prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops._json import json_equal
from promptops.contract.content import (
    VersionCreate,
    legacy_shape,
    stored_content,
    templates_of,
    variables_of,
)
from promptops.contract.validation import parse
from promptops.db.models import ActiveDeployment, Prompt, PromptVersion, VersionSnippet, utcnow
from promptops.domain import audit, changes, snippets
from promptops.domain.access import Actor
from promptops.domain.deployments import deploy
from promptops.domain.errors import InvalidInputError, NotFoundError
from promptops.domain.prompts import get_prompt
from promptops.templating import compile_template

__all__ = [
    "Pushed",
    "VersionFields",
    "create_body",
    "create_stored",
    "create_version",
    "get_version",
    "list_versions",
    "push_body",
    "push_version",
]


class VersionFields(TypedDict, total=False):
    """The content of a version (:class:`promptops.contract.content.VersionCreate`), as
    keyword arguments of :func:`create_version` and :func:`push_version`."""

    messages: list[dict[str, Any]] | None
    text: str | None
    system_prompt: str | None
    user_template: str | None
    model: Required[str]
    temperature: float
    max_tokens: int | None
    params: dict[str, Any] | None
    inputs: list[dict[str, Any]] | None
    tools: list[dict[str, Any]] | None
    tool_choice: str | None
    response_format: dict[str, Any] | None
    metadata: dict[str, Any] | None
    commit_message: str | None
    author: str | None


def _content(
    prompt: Prompt, fields: VersionCreate | VersionFields
) -> tuple[VersionCreate, dict[str, Any]]:
    """The contract's rules over ``fields`` (unless already a parsed body), then the
    prompt's type: (the parsed create body, the columns it stores)."""
    if isinstance(fields, VersionCreate):
        body = fields
    else:
        body = parse(VersionCreate, {k: v for k, v in fields.items() if v is not None})
    if prompt.type == "agent":
        raise InvalidInputError(
            f"{prompt.slug!r} is an agent: its versions are workflows (POST"
            f" /v1/agents/{prompt.slug}/versions)",
            field="slug",
        )
    if body.type != prompt.type:
        wanted = "messages" if prompt.type == "chat" else "text"
        raise InvalidInputError(
            f"prompt {prompt.slug!r} is a {prompt.type} prompt: its versions hold {wanted}",
            field="text" if prompt.type == "chat" else "messages",
        )
    return body, stored_content(body)


def create_version(
    session: Session, actor: Actor, slug: str, **fields: Unpack[VersionFields]
) -> PromptVersion:
    """Create the next version (numbers have no gaps or duplicates under concurrency: the
    prompt row is locked and its counter bumped in this transaction) and deploy it to dev."""
    actor.require_write()
    project_id = actor.project_for(None)
    prompt = get_prompt(session, project_id, slug, lock=True)
    body, stored = _content(prompt, fields)
    return _create(session, actor, prompt, body, stored)


def create_body(session: Session, actor: Actor, slug: str, body: VersionCreate) -> PromptVersion:
    """:func:`create_version` of a create body parsed already (by the API or sync)."""
    actor.require_write()
    prompt = get_prompt(session, actor.project_for(None), slug, lock=True)
    parsed, stored = _content(prompt, body)
    return _create(session, actor, prompt, parsed, stored)


def _create(
    session: Session, actor: Actor, prompt: Prompt, body: VersionCreate, stored: dict[str, Any]
) -> PromptVersion:
    return create_stored(session, actor, prompt, stored, body.commit_message, body.author)


def create_stored(
    session: Session,
    actor: Actor,
    prompt: Prompt,
    stored: dict[str, Any],
    commit_message: str | None,
    author: str | None,
) -> PromptVersion:
    """The next version of ``prompt`` holding ``stored`` (its columns, checked already),
    deployed to dev, audited and announced: prompts' and agents' versions alike."""
    snippets.check_new(session, prompt, stored)
    legacy = legacy_shape(stored["messages"]) or ("", "")
    variables = variables_of([t for _, t in templates_of(stored)])
    declared = [i["name"] for i in stored["inputs"] or () if i["name"] not in variables]
    prompt.latest_version += 1
    prompt.updated_at = utcnow()
    version = PromptVersion(
        prompt_id=prompt.id,
        version=prompt.latest_version,
        system_prompt=legacy[0],
        user_template=legacy[1],
        variables=[*variables, *declared],
        commit_message=commit_message,
        author=author or actor.label,
        **stored,
    )
    session.add(version)
    session.flush()
    refs = {
        (partial.slug, partial.version): None
        for _, source in templates_of(stored)
        for partial in compile_template(source).partials
    }
    session.add_all(
        VersionSnippet(
            version_id=version.id,
            prompt_id=prompt.id,
            project_id=prompt.project_id,
            snippet_slug=slug,
            pinned_version=pinned,
        )
        for slug, pinned in refs
    )
    audit.record(
        session,
        actor,
        "version.created",
        project_id=prompt.project_id,
        target_type="prompt",
        target=prompt.slug,
        after={
            "version": version.version,
            "model": version.model,
            "commit_message": version.commit_message,
        },
    )
    changes.record(
        session,
        changes.Change(
            changes.ChangeKind.VERSION_CREATED,
            prompt.project_id,
            slug=prompt.slug,
            version=version.version,
            actor=actor.label,
        ),
    )
    deploy(session, actor, prompt, "dev", version, action="auto")
    return version


@dataclass(frozen=True, slots=True)
class Pushed:
    """What :func:`push_version` did: made ``version``, or found it already active in dev."""

    version: PromptVersion
    created: bool


def push_version(
    session: Session, actor: Actor, slug: str, **fields: Unpack[VersionFields]
) -> Pushed:
    """:func:`create_version`, except that content identical to the version active in
    ``dev`` (where a new version would go) creates nothing and returns that version, so
    that pushing the same file twice (a CI job, a retry) is idempotent."""
    return push_body(session, actor, slug, fields)


def push_body(
    session: Session, actor: Actor, slug: str, fields: VersionCreate | VersionFields
) -> Pushed:
    """:func:`push_version` of a create body the API has parsed already."""
    actor.require_write()
    prompt = get_prompt(session, actor.project_for(None), slug, lock=True)
    body, stored = _content(prompt, fields)
    current = session.get(ActiveDeployment, (prompt.id, "dev"))
    if current is not None:
        active = session.get(PromptVersion, current.version_id)
        # The stored content is what makes two versions the same prompt (not the commit
        # message or author).
        if active is not None and all(
            json_equal(getattr(active, column), value) for column, value in stored.items()
        ):
            return Pushed(active, created=False)
    return Pushed(_create(session, actor, prompt, body, stored), created=True)


def list_versions(
    session: Session, prompt: Prompt, *, limit: int = 50, before: int | None = None
) -> list[PromptVersion]:
    query = (
        select(PromptVersion)
        .where(PromptVersion.prompt_id == prompt.id)
        .order_by(PromptVersion.version.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(PromptVersion.version < before)
    return list(session.scalars(query))


def get_version(session: Session, prompt: Prompt, number: int) -> PromptVersion:
    version = session.scalar(
        select(PromptVersion).where(
            PromptVersion.prompt_id == prompt.id, PromptVersion.version == number
        )
    )
    if version is None:
        raise NotFoundError(f"prompt {prompt.slug!r} has no version {number}", field="version")
    return version
