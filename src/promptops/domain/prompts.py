"""Prompts: a slug, a name and a description; content lives in versions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.contract.slugs import SLUG_PATTERN, check_slug
from promptops.db.models import Prompt, utcnow
from promptops.domain import audit, changes
from promptops.domain.access import Actor
from promptops.domain.errors import ConflictError, InvalidInputError, NotFoundError

__all__ = [
    "create_prompt",
    "get_prompt",
    "list_prompts",
    "slug_of",
    "update_prompt",
]


def slug_of(session: Session, prompt_id: int) -> str:
    """The slug of the prompt with this id (which exists)."""
    slug = session.scalar(select(Prompt.slug).where(Prompt.id == prompt_id))
    assert slug is not None, prompt_id
    return slug


def get_prompt(
    session: Session, project_id: str, slug: str, *, lock: bool = False, kind: str | None = None
) -> Prompt:
    """The prompt ``slug``; ``kind`` "prompt" (chat or text) or "agent" finds only those
    (an agent is not a prompt to read as chat or text, and a prompt is not an agent)."""
    noun = "agent" if kind == "agent" else "prompt"
    if not SLUG_PATTERN.match(slug):
        raise NotFoundError(f"{noun} {slug[:60]!r} not found")
    query = select(Prompt).where(Prompt.project_id == project_id, Prompt.slug == slug)
    if lock:
        query = query.with_for_update()
    prompt = session.scalar(query)
    if prompt is None or (kind is not None and (prompt.type == "agent") != (kind == "agent")):
        raise NotFoundError(f"{noun} {slug!r} not found")
    return prompt


def create_prompt(
    session: Session,
    actor: Actor,
    *,
    slug: str,
    name: str,
    description: str | None = None,
    type: str = "chat",
) -> Prompt:
    """A new prompt without versions; ``type`` (chat, text, or agent: a workflow, see
    :mod:`promptops.domain.agents`) is fixed from here on."""
    actor.require_write()
    project_id = actor.project_for(None)
    check_slug(slug)
    if type not in ("chat", "text", "agent"):
        raise InvalidInputError("type: must be 'chat' or 'text'", field="type")
    exists = session.scalar(
        select(Prompt.id).where(Prompt.project_id == project_id, Prompt.slug == slug)
    )
    if exists is not None:
        raise ConflictError(f"a prompt with slug {slug!r} already exists", field="slug")
    prompt = Prompt(project_id=project_id, slug=slug, type=type, name=name, description=description)
    session.add(prompt)
    session.flush()
    audit.record(
        session,
        actor,
        "prompt.created",
        project_id=project_id,
        target_type="prompt",
        target=slug,
        after={"name": name, "description": description, "type": type},
    )
    changes.record(
        session,
        changes.Change(changes.ChangeKind.PROMPT_CREATED, project_id, slug=slug, actor=actor.label),
    )
    return prompt


def update_prompt(session: Session, actor: Actor, slug: str, *, fields: dict[str, Any]) -> Prompt:
    actor.require_write()
    project_id = actor.project_for(None)
    prompt = get_prompt(session, project_id, slug, lock=True)
    before = {k: getattr(prompt, k) for k in fields}
    for key, value in fields.items():
        if key == "name" and value is None:
            raise InvalidInputError("name cannot be null", field="name")
        setattr(prompt, key, value)
    prompt.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "prompt.updated",
        project_id=project_id,
        target_type="prompt",
        target=slug,
        before=before,
        after=fields,
    )
    changes.record(
        session, changes.Change(changes.ChangeKind.PROMPT_UPDATED, project_id, slug=slug)
    )
    return prompt


def list_prompts(
    session: Session,
    project_id: str,
    *,
    limit: int = 50,
    after: str | None = None,
    search: str | None = None,
    agents: bool = False,
) -> list[Prompt]:
    """Prompts (chat and text), or with ``agents`` the agents, by slug."""
    kind = Prompt.type == "agent" if agents else Prompt.type != "agent"
    query = select(Prompt).where(Prompt.project_id == project_id, kind).order_by(Prompt.slug)
    if after:
        query = query.where(Prompt.slug > after)
    if search:
        escaped = search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"  # the user's % and _ are literal, not LIKE wildcards
        query = query.where(
            Prompt.slug.like(pattern, escape="\\") | Prompt.name.ilike(pattern, escape="\\")
        )
    return list(session.scalars(query.limit(limit)))
