"""Immutable prompt versions, numbered 1, 2, 3, ... per prompt."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import ActiveDeployment, Prompt, PromptVersion, utcnow
from promptops.domain import audit, changes
from promptops.domain.access import Actor
from promptops.domain.deployments import deploy
from promptops.domain.errors import InvalidInputError, NotFoundError
from promptops.domain.prompts import get_prompt
from promptops.errors import TemplateSyntaxError
from promptops.templating import Template

__all__ = [
    "Pushed",
    "VersionFields",
    "create_version",
    "get_version",
    "list_versions",
    "push_version",
    "template_variables",
]

# What makes two versions the same prompt; the commit message and author do not.
CONTENT_FIELDS = ("system_prompt", "user_template", "model", "temperature", "max_tokens", "meta")


def template_variables(system_prompt: str, user_template: str) -> list[str]:
    """Variables of both texts, in order; a syntax error names the field and place."""
    names: dict[str, None] = {}
    for field, text in (("system_prompt", system_prompt), ("user_template", user_template)):
        try:
            names.update(dict.fromkeys(Template(text).variables))
        except TemplateSyntaxError as exc:
            raise InvalidInputError(f"{field}: {exc.message}", field=field) from exc
    return list(names)


def create_version(
    session: Session,
    actor: Actor,
    slug: str,
    *,
    system_prompt: str,
    user_template: str,
    model: str,
    temperature: float,
    max_tokens: int | None = None,
    metadata: dict[str, Any] | None = None,
    commit_message: str | None = None,
    author: str | None = None,
) -> PromptVersion:
    """Create the next version (numbers have no gaps or duplicates under concurrency: the
    prompt row is locked and its counter bumped in this transaction) and deploy it to dev."""
    actor.require_write()
    project_id = actor.project_for(None)
    variables = template_variables(system_prompt, user_template)
    prompt = get_prompt(session, project_id, slug, lock=True)
    prompt.latest_version += 1
    prompt.updated_at = utcnow()
    version = PromptVersion(
        prompt_id=prompt.id,
        version=prompt.latest_version,
        system_prompt=system_prompt,
        user_template=user_template,
        variables=variables,
        model=model,
        temperature=temperature,
        max_tokens=max_tokens,
        meta=metadata or {},
        commit_message=commit_message,
        author=author or actor.label,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor,
        "version.created",
        project_id=project_id,
        target_type="prompt",
        target=slug,
        after={"version": version.version, "model": model, "commit_message": commit_message},
    )
    changes.record(
        session,
        changes.Change(
            changes.ChangeKind.VERSION_CREATED,
            project_id,
            slug=slug,
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


class VersionFields(TypedDict, total=False):
    """The keyword arguments of :func:`create_version`, for the functions that pass them on."""

    system_prompt: Required[str]
    user_template: Required[str]
    model: Required[str]
    temperature: Required[float]
    max_tokens: int | None
    metadata: dict[str, Any] | None
    commit_message: str | None
    author: str | None


def push_version(
    session: Session, actor: Actor, slug: str, **fields: Unpack[VersionFields]
) -> Pushed:
    """:func:`create_version`, except that content identical to the version active in
    ``dev`` (where a new version would go) creates nothing and returns that version, so
    that pushing the same file twice (a CI job, a retry) is idempotent."""
    actor.require_write()
    template_variables(fields["system_prompt"], fields["user_template"])  # bad input first
    prompt = get_prompt(session, actor.project_for(None), slug, lock=True)
    current = session.get(ActiveDeployment, (prompt.id, "dev"))
    if current is not None:
        active = session.get(PromptVersion, current.version_id)
        wanted = {**fields, "meta": fields.get("metadata") or {}}
        wanted.setdefault("max_tokens", None)
        if active is not None and all(getattr(active, f) == wanted[f] for f in CONTENT_FIELDS):
            return Pushed(active, created=False)
    return Pushed(create_version(session, actor, slug, **fields), created=True)


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
