"""The event log: what happened in a project, written in the transaction that did it.

:func:`before_commit` is registered on ``Database.before_commit`` by the app factory. Inside
each write transaction, just before commit, it turns the recorded :class:`Change` s into
:class:`Event` rows (payload = the webhook body) and one :class:`WebhookDelivery` job per
matching enabled endpoint (its event types and its environments). So an event exists
exactly when its change committed: nothing is sent for a rollback, nothing is lost for a
commit.

Ordering: on PostgreSQL each project's events are appended under a transaction-scoped
advisory lock taken just before commit, so within a project ``Event.id`` grows in commit
order and "every event after id N" is a complete answer (the live stream replays from a
Last-Event-ID this way). SQLite has one writer at a time, which gives the same.

After the commit, listeners receive a ``Change("events_appended", project_id)`` per project.
"""

from __future__ import annotations

import contextlib
import secrets
import zlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from promptops.db.models import (
    ActiveDeployment,
    AgentRun,
    Deployment,
    EvalResult,
    Event,
    Project,
    Prompt,
    PromptVersion,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from promptops.domain import changes
from promptops.domain.changes import Change, ChangeKind
from promptops.domain.evals import result_out
from promptops.domain.payloads import resolved_out, version_out
from promptops.domain.snippets import SnippetError

__all__ = [
    "EVENTS_APPENDED",
    "EVENT_TYPES",
    "NOT_SENT_YET",
    "SENT_EVENT_TYPES",
    "TEST_EVENT_TYPE",
    "append",
    "before_commit",
    "callback_deliveries",
    "fan_out",
    "iso",
    "lock_project",
    "new_uid",
]

EVENT_TYPES: tuple[str, ...] = (
    "prompt_created",
    "prompt_template_version_created",
    "prompt_template_label_moved",
    "prompt_template_label_change_approved",
    "prompt_template_updated",
    "agent_run_completed",
    "eval_result_created",
)
# Types an endpoint may subscribe to ahead of anything sending them (none today: managed
# agents send agent_run_completed). Forms offer only SENT_EVENT_TYPES.
NOT_SENT_YET: frozenset[str] = frozenset()
SENT_EVENT_TYPES: tuple[str, ...] = tuple(t for t in EVENT_TYPES if t not in NOT_SENT_YET)
TEST_EVENT_TYPE = "webhook_test"  # POST /v1/webhooks/{id}/test; sent to that endpoint only
EVENTS_APPENDED = ChangeKind.EVENTS_APPENDED  # announced after a commit that added events

_KIND_TO_TYPE: dict[str, str] = {  # ChangeKind (a StrEnum) -> event type
    ChangeKind.PROMPT_CREATED: "prompt_created",
    ChangeKind.VERSION_CREATED: "prompt_template_version_created",
    ChangeKind.LABEL_MOVED: "prompt_template_label_moved",
    ChangeKind.LABEL_CHANGE_APPROVED: "prompt_template_label_change_approved",
    ChangeKind.TEMPLATE_UPDATED: "prompt_template_updated",
    ChangeKind.AGENT_RUN_COMPLETED: "agent_run_completed",
    ChangeKind.EVAL_RESULT_CREATED: "eval_result_created",
}


_LOCK_CLASS = 7274  # advisory lock namespace of the event log (pg_advisory_xact_lock(int, int))


def new_uid() -> str:
    """A new event id (``evt_`` + 26 hex digits); it is the webhook-id of every delivery."""
    return "evt_" + secrets.token_hex(13)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _lock_projects(session: Session, project_ids: Iterable[str]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: the write transaction already excludes every other writer
    for project_id in sorted(set(project_ids)):  # one order everywhere: no deadlocks
        key = zlib.crc32(project_id.encode())
        key = key - 2**32 if key >= 2**31 else key
        session.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": _LOCK_CLASS, "k": key})


def append(
    session: Session,
    project_id: str,
    type_: str,
    data: Mapping[str, Any],
    *,
    slug: str | None = None,
    environment: str | None = None,
) -> Event:
    """Add one event (flushed, so it has its id). Outside :func:`before_commit`, call
    :func:`lock_project` first in the same transaction (commit-ordered ids)."""
    now = utcnow()
    uid = new_uid()
    project = session.get(Project, project_id)
    payload = {
        "id": uid,
        "type": type_,
        "timestamp": iso(now),
        "project": {"id": project_id, "name": project.name if project else None},
        "data": dict(data),
    }
    event = Event(
        uid=uid,
        project_id=project_id,
        environment=environment,
        type=type_,
        slug=slug,
        payload=payload,
        created_at=now,
    )
    session.add(event)
    session.flush()
    return event


def _resolved(
    session: Session, prompt: Prompt, version: PromptVersion, deployment: Deployment | None
) -> dict[str, Any]:
    """The prompt as ``GET /v1/prompts/{slug}/active`` serves it (ActivePromptOut), its
    snippets resolved in the deployment's environment; for a version that is not a
    deployment, environment/deployed_at/deployment_id are null and the content is as
    written (its ``snippets`` the references). A deployed version whose snippets no longer
    resolve (data older than the checks) is sent as written too."""
    # The contract's prompt payload is the one shape receivers cache.
    out = version_out(prompt, version)
    if deployment is not None:
        with contextlib.suppress(SnippetError):
            out = resolved_out(session, prompt, version, deployment.environment)
    body: dict[str, Any] = out.model_dump(mode="json")
    body.update(environment=None, deployed_at=None, deployment_id=None)
    if deployment is not None:
        active = session.get(ActiveDeployment, (prompt.id, deployment.environment))
        current = active is not None and active.deployment_id == deployment.id
        deployed_at = active.updated_at if current and active else deployment.created_at
        body.update(
            environment=deployment.environment,
            deployed_at=iso(deployed_at),
            deployment_id=deployment.id,
        )
    return body


def _deployment(session: Session, prompt: Prompt, change: Change) -> Deployment | None:
    if change.deployment_id is not None:
        return session.get(Deployment, change.deployment_id)
    if change.environment is None:
        return None
    active = session.get(ActiveDeployment, (prompt.id, change.environment))
    return session.get(Deployment, active.deployment_id) if active else None


def _data(session: Session, change: Change, type_: str) -> dict[str, Any] | None:
    if type_ == "agent_run_completed":
        return {**(change.data or {}), "actor": change.actor}
    if change.slug is None:
        return None
    prompt = session.scalar(
        select(Prompt).where(Prompt.project_id == change.project_id, Prompt.slug == change.slug)
    )
    if prompt is None:
        return None
    data: dict[str, Any] = {"slug": prompt.slug, "actor": change.actor}
    if type_ == "prompt_created":
        data.update(name=prompt.name, description=prompt.description, prompt=None)
        return data
    if type_ == "eval_result_created":
        result_id = (change.data or {}).get("eval_result_id")
        row = session.get(EvalResult, result_id) if isinstance(result_id, int) else None
        if row is None or row.prompt_id != prompt.id:
            return None
        data.update(
            version=row.version, result=result_out(prompt.slug, row).model_dump(mode="json")
        )
        return data
    if type_ == "prompt_template_version_created":
        version = session.scalar(
            select(PromptVersion).where(
                PromptVersion.prompt_id == prompt.id, PromptVersion.version == change.version
            )
        )
        if version is None:
            return None
        data.update(version=version.version, prompt=_resolved(session, prompt, version, None))
        return data
    deployment = _deployment(session, prompt, change)
    if deployment is None:
        return None
    version = session.get(PromptVersion, deployment.version_id)
    assert version is not None
    data.update(
        environment=deployment.environment,
        version=deployment.version,
        previous_version=deployment.previous_version,
        action=change.action or deployment.action,
        deployment_id=deployment.id,
        prompt=_resolved(session, prompt, version, deployment),
    )
    if type_ == "prompt_template_updated":
        for key in ("previous_version", "action"):
            data.pop(key)
        data["snippet"] = dict((change.data or {}).get("snippet") or {})
    elif change.actor is None:
        data["actor"] = deployment.actor
    return data


def _listens(endpoint: WebhookEndpoint, event: Event) -> bool:
    """An endpoint receives the events of its environments, and every project-wide event
    (environment NULL: a prompt or a version created), as it did before endpoints had
    environments: those carry no environment's state."""
    if event.environment is not None and event.environment not in (endpoint.environments or ()):
        return False
    wanted = endpoint.event_types
    return not wanted or event.type in wanted


def fan_out(session: Session, events: list[Event]) -> int:
    """One pending delivery per (event, enabled endpoint whose filters match: event type,
    and environment)."""
    if not events:
        return 0
    projects = {e.project_id for e in events}
    endpoints = session.scalars(
        select(WebhookEndpoint).where(
            WebhookEndpoint.project_id.in_(projects), WebhookEndpoint.enabled.is_(True)
        )
    ).all()
    now = utcnow()
    made = 0
    for event in events:
        for endpoint in endpoints:
            if endpoint.project_id == event.project_id and _listens(endpoint, event):
                session.add(
                    WebhookDelivery(
                        endpoint_id=endpoint.id,
                        event_id=event.id,
                        project_id=event.project_id,
                        status="pending",
                        attempts=0,
                        next_attempt_at=now,
                        created_at=now,
                    )
                )
                made += 1
    return made


def callback_deliveries(session: Session, events: list[Event]) -> int:
    """One pending delivery per ``agent_run_completed`` event whose run has a
    ``callback_url`` (delivered and retried as webhooks are: :mod:`promptops.worker`)."""
    made = 0
    for event in events:
        if event.type != "agent_run_completed":
            continue
        run = session.get(AgentRun, str(event.payload["data"].get("run_id")))
        if run is None or run.callback_url is None or run.callback_secret_sealed is None:
            continue
        now = utcnow()
        session.add(
            WebhookDelivery(
                run_id=run.id,
                event_id=event.id,
                project_id=event.project_id,
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
        made += 1
    return made


def before_commit(session: Session, recorded: list[Change]) -> None:
    """The ``Database.before_commit`` hook: events and delivery jobs for this write."""
    todo = [(c, _KIND_TO_TYPE[c.kind]) for c in recorded if c.kind in _KIND_TO_TYPE]
    if not todo:
        return
    _lock_projects(session, (c.project_id for c, _ in todo))
    written: list[Event] = []
    for change, type_ in todo:
        data = _data(session, change, type_)
        if data is None:
            continue
        env = data.get("environment")
        environment = env if isinstance(env, str) else change.environment
        written.append(
            append(
                session, change.project_id, type_, data, slug=change.slug, environment=environment
            )
        )
    fan_out(session, written)
    callback_deliveries(session, written)
    for project_id in sorted({e.project_id for e in written}):
        changes.record(session, Change(EVENTS_APPENDED, project_id))


def lock_project(session: Session, project_id: str) -> None:
    """Take the project's event-log lock (PostgreSQL) before appending outside the hook."""
    _lock_projects(session, [project_id])
