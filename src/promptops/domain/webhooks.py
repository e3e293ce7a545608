"""Webhook endpoints of a project, and their delivery log.

An endpoint has a URL (checked against the SSRF policy in :mod:`promptops.domain.ssrf` at
creation, on update, and again at every attempt), an event filter (empty: every type), an
enabled flag and a signing secret ``whsec_…``, shown in full only when created or rotated.
Secrets are sealed at rest (:mod:`promptops.domain.secretbox`, bound to the endpoint) and
opened by the worker to sign; :func:`seal_secrets` seals secrets stored in clear before
(and those sealed with a previous key) when a server or worker starts.

Endpoints are scoped by environment (``environments``): who sees and changes which one is
:mod:`promptops.domain.webhook_scope`. Changes are audited. Deliveries are created by
:mod:`promptops.domain.events` (from changes) or here (redeliver, test events) and delivered
by :mod:`promptops.worker`.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from promptops.db.models import (
    Event,
    Project,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from promptops.domain import audit, changes, events
from promptops.domain import webhook_scope as scope
from promptops.domain.access import Actor
from promptops.domain.errors import ConflictError, InvalidInputError, NotFoundError
from promptops.domain.secretbox import SecretBox
from promptops.domain.ssrf import UrlRefusedError, check_url
from promptops.webhooks import generate_secret

__all__ = [
    "JOBS_QUEUED",
    "active_secrets",
    "create_endpoint",
    "delete_endpoint",
    "disable_endpoint",
    "find_endpoint",
    "get_delivery",
    "get_endpoint",
    "list_deliveries",
    "list_endpoints",
    "redeliver",
    "rotate_secret",
    "seal_secrets",
    "send_test",
    "update_endpoint",
    "validate_url",
]

JOBS_QUEUED = "webhook_jobs_queued"  # Change kind: new deliveries outside the event hook
_ID = re.compile(r"^wh_[0-9a-f]{16}$")


def validate_url(url: str, *, allow_private: bool) -> str:
    try:
        check_url(url, allow_private=allow_private)
    except UrlRefusedError as exc:
        raise InvalidInputError(f"url: {exc.message}", field="url") from None
    return url.strip()


def _event_types(types: Iterable[str]) -> list[str]:
    wanted = list(dict.fromkeys(types))
    for i, name in enumerate(wanted):
        if name not in events.EVENT_TYPES:
            raise InvalidInputError(
                f"unknown event type {name[:60]!r}; expected some of "
                + ", ".join(events.EVENT_TYPES),
                field=f"event_types.{i}",
            )
    return wanted


def _summary(endpoint: WebhookEndpoint) -> dict[str, Any]:
    return {
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "environments": endpoint.environments,
        "enabled": endpoint.enabled,
        "description": endpoint.description,
        "format": endpoint.format,
    }


def _audit(
    session: Session, actor: Actor | str | None, action: str, endpoint: WebhookEndpoint, **kw: Any
) -> None:
    audit.record(
        session,
        actor,
        action,
        project_id=endpoint.project_id,
        target_type="webhook",
        target=endpoint.id,
        **kw,
    )


def get_endpoint(
    session: Session, project_id: str, endpoint_id: str, *, lock: bool = False
) -> WebhookEndpoint:
    if not _ID.match(endpoint_id):  # before any query: no odd text reaches the database
        raise NotFoundError(f"webhook endpoint {endpoint_id[:40]!r} not found")
    query = select(WebhookEndpoint).where(
        WebhookEndpoint.id == endpoint_id, WebhookEndpoint.project_id == project_id
    )
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFoundError(f"webhook endpoint {endpoint_id!r} not found")
    return found


def find_endpoint(
    session: Session,
    actor: Actor,
    endpoint_id: str,
    *,
    project_id: str | None = None,
    lock: bool = False,
) -> WebhookEndpoint:
    """The endpoint as ``actor`` may see it: one it does not see is not found (404)."""
    endpoint = get_endpoint(session, actor.project_for(project_id), endpoint_id, lock=lock)
    if not scope.sees(actor, endpoint):
        raise NotFoundError(f"webhook endpoint {endpoint_id!r} not found")
    return endpoint


def list_endpoints(
    session: Session, actor: Actor, project_id: str | None = None
) -> list[WebhookEndpoint]:
    """The project's endpoints ``actor`` sees (a key: those of its environment only); an
    unknown project is a 404, not an empty list."""
    project = actor.project_for(project_id)
    if session.get(Project, project) is None:
        raise NotFoundError(f"project {project[:40]!r} not found", field="project_id")
    query = select(WebhookEndpoint).where(WebhookEndpoint.project_id == project)
    rows = session.scalars(query.order_by(WebhookEndpoint.created_at, WebhookEndpoint.id))
    return [endpoint for endpoint in rows if scope.sees(actor, endpoint)]


def create_endpoint(
    session: Session,
    actor: Actor,
    *,
    url: str,
    allow_private: bool,
    description: str | None = None,
    event_types: Iterable[str] = (),
    environments: Iterable[str] | None = None,
    enabled: bool = True,
    project_id: str | None = None,
    format: str = "standard",
    box: SecretBox,
) -> tuple[WebhookEndpoint, str]:
    """Create an endpoint; with it, its signing secret: the one time the caller sees it.
    ``environments`` None: the key's own environment (people, the admin: every one)."""
    scope.require_changer(actor)
    project_id = actor.project_for(project_id)
    if session.get(Project, project_id) is None:  # the instance admin named it
        raise NotFoundError(f"project {project_id[:40]!r} not found", field="project_id")
    envs = (
        scope.default_environments(actor)
        if environments is None
        else scope.check_environments(environments)
    )
    scope.require_environments_allowed(actor, envs)
    now = utcnow()
    secret = generate_secret()
    endpoint = WebhookEndpoint(
        id="wh_" + secrets.token_hex(8),
        project_id=project_id,
        url=validate_url(url, allow_private=allow_private),
        description=description,
        event_types=_event_types(event_types),
        environments=envs,
        enabled=enabled,
        format=_format(format),
        secret="",
        failure_count=0,
        created_by=actor.label,
        created_at=now,
        updated_at=now,
    )
    endpoint.secret = box.seal(secret, _where(endpoint))
    session.add(endpoint)
    session.flush()
    _audit(session, actor, "webhook.created", endpoint, after=_summary(endpoint))
    return endpoint, secret


FORMATS = ("standard", "promptlayer")


def _format(value: str) -> str:
    if value not in FORMATS:
        raise InvalidInputError(
            f"format: must be one of {', '.join(FORMATS)}, not {str(value)[:40]!r}", field="format"
        )
    return value


def update_endpoint(
    session: Session,
    actor: Actor,
    endpoint_id: str,
    *,
    fields: dict[str, Any],
    allow_private: bool,
    project_id: str | None = None,
) -> WebhookEndpoint:
    """Change url, description, event_types, environments and/or enabled. Enabling clears
    the failure count (an endpoint disabled after failures starts over)."""
    scope.require_changer(actor)
    endpoint = find_endpoint(session, actor, endpoint_id, project_id=project_id, lock=True)
    before = _summary(endpoint)
    for name in ("url", "event_types", "environments", "enabled", "format"):
        if name in fields and fields[name] is None:
            raise InvalidInputError(f"{name} cannot be null", field=name)
    if "environments" in fields:
        envs = scope.check_environments(fields["environments"])
        scope.require_environments_allowed(actor, envs)
        endpoint.environments = envs
    if "url" in fields:
        endpoint.url = validate_url(fields["url"], allow_private=allow_private)
    if "event_types" in fields:
        endpoint.event_types = _event_types(fields["event_types"])
    if "description" in fields:
        endpoint.description = fields["description"]
    if "format" in fields:
        endpoint.format = _format(fields["format"])
    if "enabled" in fields:
        if fields["enabled"] and not endpoint.enabled:
            endpoint.failure_count = 0
            endpoint.failing_since = None
            endpoint.disabled_reason = None
        endpoint.enabled = bool(fields["enabled"])
    endpoint.updated_at = utcnow()
    _audit(session, actor, "webhook.updated", endpoint, before=before, after=_summary(endpoint))
    return endpoint


def delete_endpoint(
    session: Session, actor: Actor, endpoint_id: str, *, project_id: str | None = None
) -> None:
    """Delete an endpoint with its deliveries and their log (attempts in flight finish
    without being recorded)."""
    scope.require_changer(actor)
    endpoint = find_endpoint(session, actor, endpoint_id, project_id=project_id, lock=True)
    _audit(session, actor, "webhook.deleted", endpoint, before=_summary(endpoint))
    session.delete(endpoint)
    session.flush()


def rotate_secret(
    session: Session,
    actor: Actor,
    endpoint_id: str,
    *,
    overlap_seconds: float,
    project_id: str | None = None,
    box: SecretBox,
) -> tuple[WebhookEndpoint, str]:
    """A new secret (returned with the endpoint); the current one stays valid (deliveries
    are signed with both) for ``overlap_seconds``. A secret replaced before by an earlier
    rotation stops at once."""
    scope.require_changer(actor)
    endpoint = find_endpoint(session, actor, endpoint_id, project_id=project_id, lock=True)
    now = utcnow()
    endpoint.previous_secret = endpoint.secret
    endpoint.previous_secret_expires_at = now + timedelta(seconds=overlap_seconds)
    secret = generate_secret()
    endpoint.secret = box.seal(secret, _where(endpoint))
    endpoint.updated_at = now
    _audit(
        session,
        actor,
        "webhook.secret_rotated",
        endpoint,
        after={"previous_secret_expires_at": events.iso(endpoint.previous_secret_expires_at)},
    )
    return endpoint, secret


def _where(endpoint: WebhookEndpoint) -> str:
    return f"webhook_endpoints:{endpoint.project_id}:{endpoint.id}"


def _open(box: SecretBox, endpoint: WebhookEndpoint, stored: str) -> str:
    # Stored in clear before secrets were sealed (until seal_secrets has run).
    return box.open(stored, _where(endpoint)) if SecretBox.is_sealed(stored) else stored


def active_secrets(endpoint: WebhookEndpoint, box: SecretBox) -> list[str]:
    """The secrets deliveries are signed with now: the current one, then the previous one
    while its overlap lasts."""
    found = [_open(box, endpoint, endpoint.secret)]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and expires > utcnow():
        found.append(_open(box, endpoint, endpoint.previous_secret))
    return found


def seal_secrets(session: Session, box: SecretBox) -> int:
    """Seal, under the current key, the endpoints' secrets stored in clear (before sealing
    existed) or sealed with a previous key; returns how many endpoints changed."""
    changed = 0
    for endpoint in session.scalars(select(WebhookEndpoint)):
        for column in ("secret", "previous_secret"):
            stored = getattr(endpoint, column)
            if stored and (not SecretBox.is_sealed(stored) or box.needs_reseal(stored)):
                value = _open(box, endpoint, stored)
                setattr(endpoint, column, box.seal(value, _where(endpoint)))
                changed += 1
    return changed


def disable_endpoint(session: Session, endpoint: WebhookEndpoint, reason: str) -> int:
    """Disable an endpoint (caller holds its row lock): its pending deliveries are
    cancelled (redeliver them after re-enabling), and the audit log says why."""
    now = utcnow()
    endpoint.enabled = False
    endpoint.disabled_reason = reason
    endpoint.updated_at = now
    cancelled = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.endpoint_id == endpoint.id, WebhookDelivery.status == "pending")
        .values(
            status="cancelled",
            last_error="endpoint disabled: " + reason,
            claimed_by=None,
            lease_until=None,
            completed_at=now,
        )
    )
    _audit(session, "system:webhooks", "webhook.disabled", endpoint, after={"reason": reason})
    return int(getattr(cancelled, "rowcount", 0) or 0)


# ---- the delivery log -----------------------------------------------------------------------


def list_deliveries(
    session: Session,
    endpoint: WebhookEndpoint,
    *,
    limit: int = 50,
    before_id: int | None = None,
    status: str | None = None,
    environment: str | None = None,
) -> list[tuple[WebhookDelivery, Event, list[WebhookAttempt]]]:
    """Newest first, each with its event and its attempts (oldest first). With
    ``environment`` (a key's), only events of it and project-wide ones."""
    query = (
        select(WebhookDelivery, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    )
    if environment is not None:
        query = query.where(_of_environment(environment))
    if before_id is not None:
        query = query.where(WebhookDelivery.id < before_id)
    if status is not None:
        query = query.where(WebhookDelivery.status == status)
    rows = [(d, e) for d, e in session.execute(query)]
    attempts: dict[int, list[WebhookAttempt]] = {d.id: [] for d, _ in rows}
    if rows:
        for attempt in session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(list(attempts)))
            .order_by(WebhookAttempt.attempt, WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(d, e, attempts[d.id]) for d, e in rows]


def _of_environment(environment: str) -> Any:
    return or_(Event.environment.is_(None), Event.environment == environment)


def get_delivery(
    session: Session,
    endpoint: WebhookEndpoint,
    delivery_id: int,
    *,
    environment: str | None = None,
) -> tuple[WebhookDelivery, Event, list[WebhookAttempt]]:
    query = (
        select(WebhookDelivery, Event)
        .join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id == delivery_id, WebhookDelivery.endpoint_id == endpoint.id)
    )
    if environment is not None:
        query = query.where(_of_environment(environment))
    row = session.execute(query).first()
    if row is None:
        raise NotFoundError(f"delivery {delivery_id} of webhook {endpoint.id!r} not found")
    attempts = session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id == delivery_id)
        .order_by(WebhookAttempt.attempt, WebhookAttempt.id)
    )
    return row[0], row[1], list(attempts)


def _require_enabled(endpoint: WebhookEndpoint) -> None:
    if not endpoint.enabled:
        raise ConflictError(
            f"webhook {endpoint.id!r} is disabled; enable it first (PATCH enabled=true)",
            field="enabled",
        )


def _queue(
    session: Session, endpoint: WebhookEndpoint, event: Event, **extra: Any
) -> WebhookDelivery:
    _require_enabled(endpoint)
    now = utcnow()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event.id,
        project_id=endpoint.project_id,
        status="pending",
        attempts=0,
        next_attempt_at=now,
        created_at=now,
        **extra,
    )
    session.add(delivery)
    session.flush()
    changes.record(session, changes.Change(JOBS_QUEUED, endpoint.project_id))
    return delivery


def redeliver(
    session: Session,
    actor: Actor,
    endpoint_id: str,
    delivery_id: int,
    *,
    project_id: str | None = None,
) -> tuple[WebhookDelivery, Event]:
    """Send a delivery's event again, as a new delivery with its own attempts; it carries
    the same webhook-id (the event id), so receivers can tell it is a repeat."""
    scope.require_changer(actor)
    endpoint = find_endpoint(session, actor, endpoint_id, project_id=project_id)
    original, event, _ = get_delivery(session, endpoint, delivery_id, environment=actor.environment)
    delivery = _queue(session, endpoint, event, redelivery_of=original.id)
    _audit(session, actor, "webhook.redelivered", endpoint, after={"delivery": original.id})
    return delivery, event


def send_test(
    session: Session, actor: Actor, endpoint_id: str, *, project_id: str | None = None
) -> tuple[WebhookDelivery, Event]:
    """Queue a ``webhook_test`` event for this endpoint only."""
    scope.require_changer(actor)
    endpoint = find_endpoint(session, actor, endpoint_id, project_id=project_id)
    _require_enabled(endpoint)
    events.lock_project(session, endpoint.project_id)
    event = events.append(
        session,
        endpoint.project_id,
        events.TEST_EVENT_TYPE,
        {
            "endpoint_id": endpoint.id,
            "message": "a test event from PromptOps",
            "actor": actor.label,
        },
    )
    delivery = _queue(session, endpoint, event)
    _audit(session, actor, "webhook.tested", endpoint, after={"event": event.uid})
    return delivery, event
