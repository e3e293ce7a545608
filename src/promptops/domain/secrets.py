"""A project's provider connections and named secrets, sealed at rest.

Both hold something secret (an LLM provider's API key; a value for agents' http steps)
that is sealed with the server's :class:`~promptops.domain.secretbox.SecretBox`, bound to
its table, project and name, and shown afterwards only by its last four characters. Who may
do what: anyone of the project (its keys, its members) lists them; setting, replacing and
deleting needs a project owner/admin, a write key of the production environment (a dev key
must not change what production runs with) or the instance admin key (naming the project).
Every change is audited without the secret.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.db.models import Project, ProjectSecret, ProviderConnection, utcnow
from promptops.domain import audit
from promptops.domain.access import APPROVER_ROLES, Actor
from promptops.domain.errors import (
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
)
from promptops.domain.secretbox import SecretBox, last4

__all__ = [
    "create_provider",
    "delete_provider",
    "delete_secret",
    "get_provider",
    "list_providers",
    "list_secrets",
    "provider_api_key",
    "reseal",
    "secret_values",
    "set_secret",
    "update_provider",
]


def _reader(session: Session, actor: Actor, project_id: str | None) -> str:
    project = actor.project_for(project_id)
    if actor.is_admin and session.get(Project, project) is None:
        raise NotFoundError(f"project {project[:40]!r} not found", field="project_id")
    return project


def _changer(session: Session, actor: Actor, project_id: str | None, what: str) -> str:
    project = _reader(session, actor, project_id)
    if actor.is_admin:
        return project
    actor.require_write()
    if actor.is_user:
        actor.require_member_role(APPROVER_ROLES, f"changing {what}")
    elif actor.environment != "production":
        raise PermissionDeniedError(
            f"changing {what} needs a production write key or a project admin; this key is"
            f" for {actor.environment!r}"
        )
    return project


def _where(table: str, project_id: str, name: str) -> str:
    return f"{table}:{project_id}:{name}"


# ---- provider connections -------------------------------------------------------------


def _provider(session: Session, project_id: str, name: str) -> ProviderConnection:
    row = session.scalar(
        select(ProviderConnection).where(
            ProviderConnection.project_id == project_id, ProviderConnection.name == name
        )
    )
    if row is None:
        raise NotFoundError(f"provider connection {name[:100]!r} not found", field="name")
    return row


def _provider_audit(row: ProviderConnection) -> dict[str, Any]:
    return {
        "name": row.name,
        "provider": row.provider,
        "base_url": row.base_url,
        "api_key_last4": row.api_key_last4,
    }


def list_providers(
    session: Session, actor: Actor, project_id: str | None = None
) -> list[ProviderConnection]:
    project = _reader(session, actor, project_id)
    query = select(ProviderConnection).where(ProviderConnection.project_id == project)
    return list(session.scalars(query.order_by(ProviderConnection.name)))


def get_provider(
    session: Session, actor: Actor, name: str, project_id: str | None = None
) -> ProviderConnection:
    return _provider(session, _reader(session, actor, project_id), name)


def create_provider(
    session: Session,
    actor: Actor,
    box: SecretBox,
    *,
    name: str,
    provider: str,
    api_key: str,
    base_url: str | None = None,
    project_id: str | None = None,
) -> ProviderConnection:
    project = _changer(session, actor, project_id, "provider connections")
    taken = select(ProviderConnection.id).where(
        ProviderConnection.project_id == project, ProviderConnection.name == name
    )
    if session.scalar(taken) is not None:
        raise ConflictError(f"a provider connection {name!r} exists; PATCH it to change its key")
    now = utcnow()
    row = ProviderConnection(
        project_id=project,
        name=name,
        provider=provider,
        base_url=base_url,
        api_key_sealed=box.seal(api_key, _where("provider_connections", project, name)),
        api_key_last4=last4(api_key),
        created_by=actor.label,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "provider.created",
        project_id=project,
        target_type="provider",
        target=name,
        after=_provider_audit(row),
    )
    return row


def update_provider(
    session: Session,
    actor: Actor,
    box: SecretBox,
    name: str,
    fields: dict[str, Any],
    project_id: str | None = None,
) -> ProviderConnection:
    """``fields``: what the request gave (``api_key``, ``base_url``; None removes the URL)."""
    project = _changer(session, actor, project_id, "provider connections")
    row = _provider(session, project, name)
    before = _provider_audit(row)
    if "base_url" in fields:
        if fields["base_url"] is None and row.provider == "openai_compatible":
            raise InvalidInputError(
                "base_url: required for an openai_compatible provider", field="base_url"
            )
        row.base_url = fields["base_url"]
    if fields.get("api_key") is not None:
        key = fields["api_key"]
        row.api_key_sealed = box.seal(key, _where("provider_connections", project, name))
        row.api_key_last4 = last4(key)
    row.updated_at = utcnow()
    audit.record(
        session,
        actor,
        "provider.updated",
        project_id=project,
        target_type="provider",
        target=name,
        before=before,
        after=_provider_audit(row),
    )
    return row


def delete_provider(
    session: Session, actor: Actor, name: str, project_id: str | None = None
) -> None:
    project = _changer(session, actor, project_id, "provider connections")
    row = _provider(session, project, name)
    audit.record(
        session,
        actor,
        "provider.deleted",
        project_id=project,
        target_type="provider",
        target=name,
        before=_provider_audit(row),
    )
    session.delete(row)


def provider_api_key(
    session: Session, box: SecretBox, project_id: str, name: str
) -> tuple[ProviderConnection, str]:
    """The connection and its API key in clear, for a call the server makes with it."""
    row = _provider(session, project_id, name)
    return row, box.open(row.api_key_sealed, _where("provider_connections", project_id, name))


# ---- project secrets ------------------------------------------------------------------


def list_secrets(
    session: Session, actor: Actor, project_id: str | None = None
) -> list[ProjectSecret]:
    project = _reader(session, actor, project_id)
    query = select(ProjectSecret).where(ProjectSecret.project_id == project)
    return list(session.scalars(query.order_by(ProjectSecret.name)))


def _secret(session: Session, project_id: str, name: str) -> ProjectSecret | None:
    return session.scalar(
        select(ProjectSecret).where(
            ProjectSecret.project_id == project_id, ProjectSecret.name == name
        )
    )


def set_secret(
    session: Session,
    actor: Actor,
    box: SecretBox,
    name: str,
    value: str,
    project_id: str | None = None,
) -> tuple[ProjectSecret, bool]:
    """Create or replace the secret ``name``; True when it was created."""
    project = _changer(session, actor, project_id, "project secrets")
    row = _secret(session, project, name)
    now = utcnow()
    created = row is None
    if row is None:
        row = ProjectSecret(project_id=project, name=name, created_by=actor.label, created_at=now)
        session.add(row)
    before = None if created else {"name": name, "value_last4": row.value_last4}
    row.value_sealed = box.seal(value, _where("project_secrets", project, name))
    row.value_last4 = last4(value)
    row.updated_at = now
    session.flush()
    audit.record(
        session,
        actor,
        "secret.created" if created else "secret.replaced",
        project_id=project,
        target_type="secret",
        target=name,
        before=before,
        after={"name": name, "value_last4": row.value_last4},
    )
    return row, created


def delete_secret(session: Session, actor: Actor, name: str, project_id: str | None = None) -> None:
    project = _changer(session, actor, project_id, "project secrets")
    row = _secret(session, project, name)
    if row is None:
        raise NotFoundError(f"secret {name[:64]!r} not found", field="name")
    audit.record(
        session,
        actor,
        "secret.deleted",
        project_id=project,
        target_type="secret",
        target=name,
        before={"name": name, "value_last4": row.value_last4},
    )
    session.delete(row)


def secret_values(
    session: Session, box: SecretBox, project_id: str, names: Iterable[str]
) -> dict[str, str]:
    """The named secrets in clear (for an http step); an unknown name is an error."""
    wanted = sorted(set(names))
    rows = {
        row.name: row
        for row in session.scalars(
            select(ProjectSecret).where(
                ProjectSecret.project_id == project_id, ProjectSecret.name.in_(wanted)
            )
        )
    }
    missing = [n for n in wanted if n not in rows]
    if missing:
        raise NotFoundError(f"secret(s) not set in this project: {', '.join(missing)}")
    return {
        n: box.open(rows[n].value_sealed, _where("project_secrets", project_id, n)) for n in wanted
    }


def reseal(session: Session, box: SecretBox) -> int:
    """Seal again, under the current key, what a previous key sealed (after rotating
    ``PROMPTOPS_SECRET_KEY``); returns how many values changed."""
    changed = 0
    for row in session.scalars(select(ProviderConnection)):
        if box.needs_reseal(row.api_key_sealed):
            where = _where("provider_connections", row.project_id, row.name)
            row.api_key_sealed = box.seal(box.open(row.api_key_sealed, where), where)
            changed += 1
    for secret in session.scalars(select(ProjectSecret)):
        if box.needs_reseal(secret.value_sealed):
            where = _where("project_secrets", secret.project_id, secret.name)
            secret.value_sealed = box.seal(box.open(secret.value_sealed, where), where)
            changed += 1
    return changed
