"""Delivery jobs in the database: claim with a lease, record outcomes, schedule retries.

A job is a ``webhook_deliveries`` row with status ``pending``: an event for a webhook
endpoint, or for an agent run's ``callback_url`` (``run_id``; signed with the run's secret).
Claiming (one write transaction): select due rows — ``next_attempt_at <= now`` and no live
lease — with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (concurrent claimers skip each
other's rows instead of waiting; SQLite write transactions start with ``BEGIN
IMMEDIATE``, so claimers simply take turns), then stamp them ``claimed_by`` +
``lease_until`` and count the attempt. After the attempt, :func:`finish` logs it and
either completes the job or schedules the next attempt.

A worker that dies mid-attempt (``kill -9``) leaves its lease behind; once ``lease_until`` has
passed, the job is due again and another worker claims it (the lost attempt is logged as
such). So delivery is at least once: a repeat carries the same ``webhook-id``.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, case, delete, func, or_, select
from sqlalchemy.orm import Session

from promptops.compat.promptlayer import webhooks as promptlayer_webhooks
from promptops.db.models import (
    AgentRun,
    Event,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    utcnow,
)
from promptops.db.session import Database
from promptops.domain import agent_runs
from promptops.domain.events import iso
from promptops.domain.secretbox import SecretBox
from promptops.domain.webhooks import active_secrets, disable_endpoint

__all__ = ["Job", "Outcome", "Policy", "claim", "finish", "next_due", "purge_events"]


@dataclass(frozen=True, slots=True)
class Job:
    delivery_id: int
    attempt: int  # 1-based number of this attempt
    endpoint_id: str | None  # None: an agent run's callback_url
    url: str
    secrets: tuple[str, ...]
    msg_id: str  # the event id: webhook-id
    event_type: str
    body: bytes
    format: str = "standard"  # or "promptlayer" (promptops.compat.promptlayer.webhooks)


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    started_at: datetime
    status_code: int | None = None
    latency_ms: float | None = None
    excerpt: str | None = None
    error: str | None = None

    @property
    def gone(self) -> bool:
        """410: the receiver asks not to be sent anything more (the endpoint is disabled)."""
        return self.status_code == 410


@dataclass(frozen=True, slots=True)
class Policy:
    schedule: tuple[float, ...]  # delays before attempt 2, 3, ...
    jitter: float
    disable_after_failures: int
    disable_after_seconds: float
    lease_seconds: float

    @property
    def max_attempts(self) -> int:
        return len(self.schedule) + 1

    def delay(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds before the attempt after ``attempt`` (1-based), jittered ±jitter."""
        base = self.schedule[min(attempt, len(self.schedule)) - 1]
        return max(0.0, base * (1 + self.jitter * (2 * rand() - 1)))


def _due(now: datetime) -> ColumnElement[bool]:
    d = WebhookDelivery
    return and_(
        d.status == "pending",
        d.next_attempt_at <= now,
        or_(d.lease_until.is_(None), d.lease_until < now),
    )


def claim(db: Database, worker: str, limit: int, policy: Policy, box: SecretBox) -> list[Job]:
    """Claim up to ``limit`` due jobs for ``worker``; no two claimers get the same one."""
    with db.write() as session:
        now = utcnow()
        rows = list(
            session.scalars(
                select(WebhookDelivery)
                .where(_due(now))
                .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        if not rows:
            return []
        endpoints = {
            e.id: e
            for e in session.scalars(
                select(WebhookEndpoint).where(WebhookEndpoint.id.in_({d.endpoint_id for d in rows}))
            )
        }
        runs = {
            r.id: r
            for r in session.scalars(
                select(AgentRun).where(AgentRun.id.in_({d.run_id for d in rows}))
            )
        }
        found = {
            e.id: e
            for e in session.scalars(select(Event).where(Event.id.in_({d.event_id for d in rows})))
        }
        jobs: list[Job] = []
        for row in rows:
            event = found[row.event_id]
            if row.claimed_by is not None:  # its worker stopped before recording a result
                session.add(
                    WebhookAttempt(
                        delivery_id=row.id,
                        attempt=row.attempts,
                        worker=row.claimed_by,
                        started_at=now,
                        succeeded=False,
                        error=f"no result: worker {row.claimed_by} stopped during this attempt"
                        " (or lost the database) and its lease expired at"
                        f" {iso(row.lease_until or now)}; retrying",
                    )
                )
            if row.run_id is not None:
                target = _callback_target(runs.get(row.run_id), box)
            else:
                target = _endpoint_target(endpoints[row.endpoint_id or ""], box)
            if isinstance(target, str):
                row.status, row.completed_at = "cancelled", now
                row.claimed_by = row.lease_until = None
                row.last_error = target
                continue
            url, secrets, format = target
            row.attempts += 1
            row.claimed_by = worker
            row.lease_until = now + timedelta(seconds=policy.lease_seconds)
            jobs.append(
                Job(
                    delivery_id=row.id,
                    attempt=row.attempts,
                    endpoint_id=row.endpoint_id,
                    url=url,
                    secrets=secrets,
                    msg_id=event.uid,
                    event_type=event.type,
                    body=_body(format, event.payload),
                    format=format,
                )
            )
        return jobs


_Target = tuple[str, tuple[str, ...], str] | str  # (url, secrets, format), or why not


def _endpoint_target(endpoint: WebhookEndpoint, box: SecretBox) -> _Target:
    if not endpoint.enabled:
        return "endpoint disabled"
    return endpoint.url, tuple(active_secrets(endpoint, box)), endpoint.format


def _callback_target(run: AgentRun | None, box: SecretBox) -> _Target:
    """A run's callback_url, signed with the run's own secret (returned when it started)."""
    if run is None or run.callback_url is None or run.callback_secret_sealed is None:
        return "the run or its callback_url is gone"
    return run.callback_url, (agent_runs.callback_secret(run, box),), "standard"


def _body(format: str, payload: dict[str, Any]) -> bytes:
    if format == "promptlayer":
        return promptlayer_webhooks.body(payload)
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def finish(
    db: Database,
    worker: str,
    job: Job,
    outcome: Outcome,
    policy: Policy,
    rand: Callable[[], float] = random.random,
) -> None:
    """Log the attempt, then complete the job or schedule its next attempt; keep count of
    the endpoint's failures and disable it after too many (or on 410 Gone)."""
    with db.write() as session:
        now = utcnow()
        # Lock order everywhere: endpoint, then its deliveries. NO KEY UPDATE: new jobs that
        # reference the endpoint can still be inserted meanwhile.
        endpoint = None
        if job.endpoint_id is not None:
            endpoint = session.get(
                WebhookEndpoint, job.endpoint_id, with_for_update={"key_share": True}
            )
        row = session.get(WebhookDelivery, job.delivery_id, with_for_update=True)
        if row is None or (endpoint is None and job.endpoint_id is not None):
            return  # deleted meanwhile, with its log
        session.add(
            WebhookAttempt(
                delivery_id=row.id,
                attempt=job.attempt,
                worker=worker,
                started_at=outcome.started_at,
                succeeded=outcome.ok,
                status_code=outcome.status_code,
                latency_ms=outcome.latency_ms,
                response_excerpt=outcome.excerpt,
                error=outcome.error,
            )
        )
        ours = row.status == "pending" and row.claimed_by == worker and row.attempts == job.attempt
        if ours:  # else the lease ran out and another worker owns the job now
            row.last_status_code, row.last_error = outcome.status_code, outcome.error
            row.claimed_by = row.lease_until = None
            if outcome.ok:
                row.status, row.completed_at = "succeeded", now
            elif outcome.gone or job.attempt >= policy.max_attempts:
                row.status, row.completed_at = "failed", now
            else:
                row.next_attempt_at = now + timedelta(seconds=policy.delay(job.attempt, rand))
        if endpoint is not None:  # a callback_url has no health to keep
            _endpoint_health(session, endpoint, outcome, now, policy)


def _endpoint_health(
    session: Session, endpoint: WebhookEndpoint, outcome: Outcome, now: datetime, policy: Policy
) -> None:
    if outcome.ok:
        if endpoint.failure_count:
            endpoint.failure_count, endpoint.failing_since = 0, None
        return
    endpoint.failure_count += 1
    since = endpoint.failing_since = endpoint.failing_since or now
    if not endpoint.enabled:
        return
    if outcome.gone:
        disable_endpoint(session, endpoint, "the receiver answered 410 Gone")
    elif (
        endpoint.failure_count >= policy.disable_after_failures
        and (now - since).total_seconds() >= policy.disable_after_seconds
    ):
        last = outcome.error or f"HTTP {outcome.status_code}"
        disable_endpoint(
            session,
            endpoint,
            f"{endpoint.failure_count} failed attempts in a row since {iso(since)}"
            f" (last: {last[:200]})",
        )


def next_due(db: Database) -> datetime | None:
    """When the earliest pending job becomes claimable (None: nothing pending)."""
    d = WebhookDelivery
    when = case(
        (and_(d.lease_until.is_not(None), d.lease_until > d.next_attempt_at), d.lease_until),
        else_=d.next_attempt_at,
    )
    with db.read() as session:
        return session.scalar(select(func.min(when)).where(d.status == "pending"))


def purge_events(db: Database, older_than: datetime) -> int:
    """Delete events (with their deliveries and log) older than the retention period,
    except those still waiting for a delivery."""
    waiting = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.event_id == Event.id, WebhookDelivery.status == "pending")
        .exists()
    )
    with db.write() as session:
        result = session.execute(
            delete(Event)
            .where(Event.created_at < older_than, ~waiting)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)
