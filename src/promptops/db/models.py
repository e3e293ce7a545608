"""SQLAlchemy 2 models. Schema changes go through Alembic migrations in ``migrations/``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "ActiveDeployment",
    "AgentRun",
    "AgentRunStep",
    "ApiKey",
    "AuditEvent",
    "Base",
    "ChangeRequest",
    "Deployment",
    "EvalResult",
    "Event",
    "InstanceSetting",
    "Membership",
    "Project",
    "ProjectEnvironment",
    "Prompt",
    "PromptVersion",
    "RequestLog",
    "RequestLogCursor",
    "RequestLogRollup",
    "User",
    "UserSession",
    "UserToken",
    "VersionSnippet",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "utcnow",
]

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class TZDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive, as UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
            if dialect.name == "sqlite":
                value = value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # NULL project: the instance admin key.
    project_id: Mapped[str | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    prefix: Mapped[str] = mapped_column(String(40), unique=True)
    key_hash: Mapped[str] = mapped_column(String(100))
    environment: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(String(200))
    created_by: Mapped[str | None] = mapped_column(String(200))
    # The person this key acts for in approvals: its creator, or the origin of the key that
    # created it (migration 0006). NULL: no person is behind it (admin key, bootstrap).
    origin_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_by_key_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    # May change protected environments without an approval (granted explicitly; audited).
    can_bypass_protection: Mapped[bool] = mapped_column(Boolean, default=False)


class Prompt(Base):
    __tablename__ = "prompts"
    __table_args__ = (UniqueConstraint("project_id", "slug"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(100))
    # chat (messages) or text (one template: completion style, and what snippets are); fixed
    # at creation.
    type: Mapped[str] = mapped_column(String(8), default="chat", server_default="chat")
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    # Highest version number handed out; bumped in the creating transaction (row lock).
    latest_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class PromptVersion(Base):
    __tablename__ = "prompt_versions"
    __table_args__ = (UniqueConstraint("prompt_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    # The content (promptops.contract.content): messages of a chat version (role messages and
    # placeholders), or the text of a text version.
    messages: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    text: Mapped[str | None] = mapped_column(Text)
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    inputs: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    tools: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    tool_choice: Mapped[str | None] = mapped_column(JSON)
    response_format: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # An agent version's workflow (contract/agents.py AgentDefinition); null for prompts.
    definition: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The older shape, kept as written for versions made before messages (migration 0009)
    # and filled for new versions of that shape; "" otherwise. Read from ``messages``.
    system_prompt: Mapped[str] = mapped_column(Text)
    user_template: Mapped[str] = mapped_column(Text)
    variables: Mapped[list[str]] = mapped_column(JSON)
    model: Mapped[str] = mapped_column(String(200))
    temperature: Mapped[float] = mapped_column(Float)
    max_tokens: Mapped[int | None] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    commit_message: Mapped[str | None] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class VersionSnippet(Base):
    """A ``{{> slug}}`` (``pinned_version`` NULL) or ``{{> slug@3}}`` in a version's
    templates: which prompts a snippet's changes reach."""

    __tablename__ = "version_snippets"
    __table_args__ = (
        UniqueConstraint("version_id", "snippet_slug", "pinned_version"),
        Index("ix_version_snippets_project_slug", "project_id", "snippet_slug"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    project_id: Mapped[str] = mapped_column(String(32))
    snippet_slug: Mapped[str] = mapped_column(String(100))
    pinned_version: Mapped[int | None] = mapped_column(Integer)


class Deployment(Base):
    """One change of an environment's active version; rows are never updated."""

    __tablename__ = "deployments"
    __table_args__ = (Index("ix_deployments_prompt_env", "prompt_id", "environment", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    # The deployment a rollback returns to (a stack: rolling back twice goes back twice).
    previous_deployment_id: Mapped[int | None] = mapped_column(ForeignKey("deployments.id"))
    previous_version: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(16))  # auto | promote | rollback
    actor: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class ActiveDeployment(Base):
    """The current deployment per (prompt, environment): the read path's single row."""

    __tablename__ = "active_deployments"

    prompt_id: Mapped[int] = mapped_column(
        ForeignKey("prompts.id", ondelete="CASCADE"), primary_key=True
    )
    environment: Mapped[str] = mapped_column(String(16), primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id"))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id"))
    version: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str | None] = mapped_column(String(32))
    actor: Mapped[str | None] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(64))
    target_type: Mapped[str] = mapped_column(String(32))
    target: Mapped[str | None] = mapped_column(String(200))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class InstanceSetting(Base):
    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# ---- users, sessions, protected environments (migration 0003) ----------------------------


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    password_hash: Mapped[str] = mapped_column(String(200))  # argon2id
    is_instance_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class Membership(Base):
    """A user's role in a project: owner | admin | editor | viewer."""

    __tablename__ = "memberships"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class UserSession(Base):
    """A dashboard sign-in; the cookie holds a random token, this row its SHA-256."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(TZDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class UserToken(Base):
    """A personal API token (``po_user_<8>_<40>``); only its SHA-256 is stored."""

    __tablename__ = "user_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    prefix: Mapped[str] = mapped_column(String(40), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class ProjectEnvironment(Base):
    """Per-project environment settings; a missing row means "not protected"."""

    __tablename__ = "project_environments"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    environment: Mapped[str] = mapped_column(String(16), primary_key=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    # [{"name", "min_score"}]: a version is promoted here only with a passing result of each
    # (promptops.domain.evals; migration 0015). NULL: none required.
    required_evals: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class ChangeRequest(Base):
    """A promote/rollback of a protected environment waiting for another person's approval.

    ``base_deployment_id`` is the environment's deployment when the request was made: if the
    environment has moved since, the request is stale and cannot be applied.
    """

    __tablename__ = "change_requests"
    __table_args__ = (Index("ix_change_requests_project_status", "project_id", "status", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback
    version: Mapped[int] = mapped_column(Integer)  # the version it would make active
    from_version: Mapped[int | None] = mapped_column(Integer)
    base_deployment_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    comment: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(200))
    requested_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    requested_by_key_id: Mapped[int | None] = mapped_column(Integer)
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    decided_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    decision_comment: Mapped[str | None] = mapped_column(Text)
    deployment_id: Mapped[int | None] = mapped_column(Integer)  # set when applied
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class RequestLog(Base):
    """One logged LLM call (the SDK's ``run()``); rows are written in bulk, never updated.

    ``id`` is the client's idempotency key (a UUID, unique per project); ``seq`` orders rows
    for newest-first cursor pagination. ``created_at`` is when the call happened (the client's
    clock, or ``received_at`` when the client sent none).
    """

    __tablename__ = "request_logs"
    __table_args__ = (
        UniqueConstraint("project_id", "id"),
        Index("ix_request_logs_project_env_seq", "project_id", "environment", "seq"),
        Index(
            "ix_request_logs_project_env_slug_seq",
            "project_id",
            "environment",
            "prompt_slug",
            "seq",
        ),
    )

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    id: Mapped[str] = mapped_column(String(36))
    project_id: Mapped[str] = mapped_column(String(32))
    environment: Mapped[str] = mapped_column(String(16))
    actor: Mapped[str | None] = mapped_column(String(200))  # key prefix or user label
    received_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    provider: Mapped[str] = mapped_column(String(50))
    model: Mapped[str] = mapped_column(String(200))
    prompt_slug: Mapped[str | None] = mapped_column(String(100))
    prompt_version: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    latency_ms: Mapped[float] = mapped_column(Float)
    input_tokens: Mapped[int | None] = mapped_column(Integer)
    output_tokens: Mapped[int | None] = mapped_column(Integer)
    cost_usd: Mapped[float | None] = mapped_column(Float)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    meta: Mapped[dict[str, Any] | None] = mapped_column("metadata", JSON(none_as_null=True))
    tags: Mapped[list[str] | None] = mapped_column(JSON(none_as_null=True))


class RequestLogRollup(Base):
    """A prompt's logs of one version, environment and UTC hour or day of ``created_at``,
    summed by the worker (migration 0016; ``promptops.domain.log_rollups``). ``span`` is
    3600 or 86400, ``bucket`` the start in epoch seconds, ``prompt_version`` 0 for none;
    ``histogram`` is JSON ``{bin: count}`` of the latencies."""

    __tablename__ = "request_log_rollups"

    project_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    prompt_slug: Mapped[str] = mapped_column(String(100), primary_key=True)
    environment: Mapped[str] = mapped_column(String(16), primary_key=True)
    span: Mapped[int] = mapped_column(Integer, primary_key=True)
    bucket: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    prompt_version: Mapped[int] = mapped_column(Integer, primary_key=True)
    requests: Mapped[int] = mapped_column(BigInteger)
    errors: Mapped[int] = mapped_column(BigInteger)
    input_tokens: Mapped[int] = mapped_column(BigInteger)
    output_tokens: Mapped[int] = mapped_column(BigInteger)
    cost_usd: Mapped[float] = mapped_column(Float)
    latency_min: Mapped[float] = mapped_column(Float)
    latency_max: Mapped[float] = mapped_column(Float)
    histogram: Mapped[str] = mapped_column(Text)


class RequestLogCursor(Base):
    """How far (``seq``, inclusive) a worker pass over the request logs got (0016)."""

    __tablename__ = "request_log_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)


# ---- the event log and webhooks (migration 0004; docs/webhooks.md) -------------------------

_BIGINT = BigInteger().with_variant(Integer, "sqlite")


class Event(Base):
    """The durable, ordered event log: what happened in a project, kept for the retention
    period. Written in the transaction of the change that caused it; within a project ``id``
    grows in commit order (domain/events.py), so it can be replayed from a Last-Event-ID."""

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_project_id_id", "project_id", "id"),)

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    uid: Mapped[str] = mapped_column(String(40), unique=True)  # evt_…: the webhook-id
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    environment: Mapped[str | None] = mapped_column(String(16))
    type: Mapped[str] = mapped_column(String(64))
    slug: Mapped[str | None] = mapped_column(String(100))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the webhook body
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow, index=True)


class WebhookEndpoint(Base):
    __tablename__ = "webhook_endpoints"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # wh_…
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    event_types: Mapped[list[str]] = mapped_column(JSON)  # empty: every event type
    # The environments whose events it receives (migration 0006); keys manage only
    # endpoints whose environments are all their own.
    environments: Mapped[list[str]] = mapped_column(
        JSON, default=lambda: ["dev", "staging", "production"]
    )
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # standard (Standard Webhooks) | promptlayer (PromptLayer's envelope; migration 0012)
    format: Mapped[str] = mapped_column(String(16), default="standard", server_default="standard")
    # Signing secrets (whsec_…), sealed (domain/secretbox.py; migration 0014 widens them).
    secret: Mapped[str] = mapped_column(Text)
    previous_secret: Mapped[str | None] = mapped_column(Text)
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    failure_count: Mapped[int] = mapped_column(Integer, default=0)  # failed attempts in a row
    failing_since: Mapped[datetime | None] = mapped_column(TZDateTime())
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One event to one endpoint, or to an agent run's ``callback_url`` (``run_id`` set,
    no endpoint): the job a worker claims (lease) until it succeeds or runs out of
    attempts. Statuses: pending | succeeded | failed | cancelled."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_endpoint_id_id", "endpoint_id", "id"),
    )

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    endpoint_id: Mapped[str | None] = mapped_column(
        ForeignKey("webhook_endpoints.id", ondelete="CASCADE")
    )
    run_id: Mapped[str | None] = mapped_column(
        ForeignKey("agent_runs.id", ondelete="CASCADE"), index=True
    )
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # attempts started
    next_attempt_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    lease_until: Mapped[datetime | None] = mapped_column(TZDateTime())
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    redelivery_of: Mapped[int | None] = mapped_column(_BIGINT)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class WebhookAttempt(Base):
    """The delivery log: one row per attempt made."""

    __tablename__ = "webhook_attempts"
    __table_args__ = (Index("ix_webhook_attempts_delivery_id", "delivery_id", "attempt"),)

    id: Mapped[int] = mapped_column(_BIGINT, primary_key=True, autoincrement=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_deliveries.id", ondelete="CASCADE")
    )
    attempt: Mapped[int] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(100))
    started_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    succeeded: Mapped[bool] = mapped_column(Boolean, default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class ProviderConnection(Base):
    """A project's connection to an LLM provider; the API key sealed (domain/secretbox.py)."""

    __tablename__ = "provider_connections"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    # openai | anthropic | gemini | openai_compatible
    provider: Mapped[str] = mapped_column(String(32))
    base_url: Mapped[str | None] = mapped_column(Text)
    api_key_sealed: Mapped[str] = mapped_column(Text)
    api_key_last4: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class ProjectSecret(Base):
    """A named secret of a project (for agents' http steps); the value sealed."""

    __tablename__ = "project_secrets"
    __table_args__ = (UniqueConstraint("project_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    value_sealed: Mapped[str] = mapped_column(Text)
    value_last4: Mapped[str] = mapped_column(String(8))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class EvalResult(Base):
    """One evaluation result recorded on a version (CI pushes them); rows are never
    updated. The latest per (version, name) is what a protected environment's gate reads."""

    __tablename__ = "eval_results"
    __table_args__ = (Index("ix_eval_results_version_name", "version_id", "name", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    score: Mapped[float] = mapped_column(Float)
    passed: Mapped[bool] = mapped_column(Boolean)
    threshold: Mapped[float | None] = mapped_column(Float)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    url: Mapped[str | None] = mapped_column(Text)
    ci_run_id: Mapped[str | None] = mapped_column(String(200))
    commit: Mapped[str | None] = mapped_column(String(64))
    created_by: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)


class AgentRun(Base):
    """One run of an agent version (a prompt of type ``agent``), executed by DBOS under the
    workflow id ``id``; this row is what the API shows (DBOS keeps the checkpoints)."""

    __tablename__ = "agent_runs"
    __table_args__ = (
        UniqueConstraint("prompt_id", "idempotency_key"),
        Index("ix_agent_runs_prompt_created", "prompt_id", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    prompt_id: Mapped[int] = mapped_column(ForeignKey("prompts.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    version_id: Mapped[int] = mapped_column(ForeignKey("prompt_versions.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(16))
    # queued | running | waiting | succeeded | failed | cancelled | timed_out
    status: Mapped[str] = mapped_column(String(16), default="queued")
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    output: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    callback_url: Mapped[str | None] = mapped_column(Text)
    callback_secret_sealed: Mapped[str | None] = mapped_column(Text)  # signs the callback
    started_by: Mapped[str | None] = mapped_column(String(200))
    steps_run: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    created_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(TZDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime())


class AgentRunStep(Base):
    """A step of a run as it ran (``key``: the step's name, ``name[i]`` for a map's item i)."""

    __tablename__ = "agent_run_steps"
    __table_args__ = (UniqueConstraint("run_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("agent_runs.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(16))
    # running | waiting | succeeded | failed | cancelled | timed_out
    status: Mapped[str] = mapped_column(String(16))
    input: Mapped[Any | None] = mapped_column(JSON)
    output: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime] = mapped_column(TZDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(TZDateTime())
