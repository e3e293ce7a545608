"""Request logs: each LLM call the SDK's ``run()`` made, sent in batches, read newest first.

Ingestion is one bulk ``INSERT ... ON CONFLICT (project_id, id) DO NOTHING`` executemany per
batch (no ORM objects per record; the driver's rowcount says how many rows were new). The
client-generated ``id`` is the idempotency key, so a batch re-sent after a lost
acknowledgement stores nothing twice, even when copies race (the unique constraint decides).

The caller checks the records' shape (the HTTP schemas do); this module derives project and
environment from the key, and encodes each JSON field exactly once, strictly: NaN/infinity,
NUL characters and lone surrogates are refused with the record's index and field, and the
encoded text is what gets stored (the database driver does not serialize it again).

Reading logs needs a ``write`` key (logs carry end users' requests and responses, and
``read`` keys are embedded in applications) and, like prompt reads, stays in the key's
environment; the instance admin key names the project and may read every environment.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import cast as typed

from sqlalchemy import Select, Table, Text, bindparam, cast, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from promptops.db.models import RequestLog, utcnow
from promptops.domain.access import Actor, check_environment
from promptops.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError
from promptops.domain.text import NOT_FINITE, check_text, encoded_json_problem

__all__ = [
    "MAX_BATCH",
    "STATUSES",
    "IngestResult",
    "LogFilters",
    "get_log",
    "ingest",
    "list_logs",
]

MAX_BATCH = 1000
STATUSES: tuple[str, ...] = ("ok", "error")

_TABLE = typed(Table, RequestLog.__table__)
_CONFLICT_TARGET = ["project_id", "id"]
_JSON_FIELDS = ("request", "response", "metadata", "tags")
_encode = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int  # rows stored by this call
    duplicates: int  # records whose id was already stored (or repeated within the batch)


@dataclass(frozen=True, slots=True)
class LogFilters:
    environment: str | None = None
    prompt_slug: str | None = None
    prompt_version: int | None = None
    status: str | None = None
    since: datetime | None = None  # created_at >= since
    until: datetime | None = None  # created_at < until
    tag: str | None = None


def ingest(
    session: Session,
    actor: Actor,
    records: Sequence[Mapping[str, Any]],
    *,
    received_at: datetime | None = None,
) -> IngestResult:
    """Store a batch of validated records (API field names) in the key's project and
    environment, all or nothing (the caller's transaction). Returns what was new."""
    actor.require_project_key()
    project_id = actor.project_for(None)
    if len(records) > MAX_BATCH:
        raise InvalidInputError(
            f"a batch holds at most {MAX_BATCH} records, got {len(records)}", field="records"
        )
    now = received_at or utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for index, record in enumerate(records):
        environment = _record_environment(actor, record.get("environment"), index)
        log_id = _canonical_id(record["id"], index)
        if log_id in rows:
            continue
        row = {
            "id": log_id,
            "project_id": project_id,
            "environment": environment,
            "actor": actor.label,
            "received_at": now,
            "created_at": record.get("created_at") or now,
            "provider": record["provider"],
            "model": record["model"],
            "prompt_slug": record.get("prompt_slug"),
            "prompt_version": record.get("prompt_version"),
            "status": record["status"],
            "error": record.get("error"),
            "latency_ms": record["latency_ms"],
            "input_tokens": record.get("input_tokens"),
            "output_tokens": record.get("output_tokens"),
            "cost_usd": record.get("cost_usd"),
        }
        for name in _JSON_FIELDS:
            row[name] = _json_text(record.get(name), index, name)
        rows[log_id] = row
    accepted = 0
    if rows:
        result: Any = session.execute(_insert_statement(session), list(rows.values()))
        accepted = result.rowcount
        if accepted < 0:  # pragma: no cover - both supported drivers report it
            raise RuntimeError("the database driver did not report how many rows it inserted")
    return IngestResult(accepted=accepted, duplicates=len(records) - accepted)


def get_log(
    session: Session, actor: Actor, log_id: str, *, project_id: str | None = None
) -> RequestLog:
    """One log by its id, within what ``actor`` may read (else not found, never forbidden)."""
    project, environment = _read_scope(actor, project_id, None)
    try:
        canonical = str(uuid.UUID(log_id))
    except ValueError:
        raise NotFoundError(f"log {log_id[:40]!r} not found") from None
    query = select(RequestLog).where(RequestLog.project_id == project, RequestLog.id == canonical)
    row = session.scalar(query)
    if row is None or (environment is not None and row.environment != environment):
        raise NotFoundError(f"log {canonical!r} not found")
    return row


def list_logs(
    session: Session,
    actor: Actor,
    *,
    project_id: str | None = None,
    filters: LogFilters | None = None,
    limit: int = 50,
    before: int | None = None,
) -> tuple[list[RequestLog], int | None]:
    """Logs newest first (by arrival), and the cursor of the next page (None at the end)."""
    filters = filters or LogFilters()
    project, environment = _read_scope(actor, project_id, filters.environment)
    query = select(RequestLog).where(RequestLog.project_id == project)
    if environment is not None:
        query = query.where(RequestLog.environment == environment)
    if before is not None:
        query = query.where(RequestLog.seq < before)
    query = _filtered(session, query, filters)
    rows = list(session.scalars(query.order_by(RequestLog.seq.desc()).limit(limit + 1)))
    if len(rows) > limit:
        return rows[:limit], rows[limit - 1].seq
    return rows, None


# ---- helpers --------------------------------------------------------------------------


def _record_environment(actor: Actor, given: str | None, index: int) -> str:
    """A key logs into its own environment; an actor without one (a user) names it."""
    field = f"records.{index}.environment"
    if given is None:
        if actor.environment is None:
            raise InvalidInputError(f"{field}: name the environment of the call", field=field)
        return actor.environment
    try:
        actor.require_environment(check_environment(given, field))
    except PermissionDeniedError as exc:
        raise PermissionDeniedError(
            f"{field}: {exc.message} (omit the field to use the key's environment)", field=field
        ) from None
    return given


def _json_text(value: Any, index: int, name: str) -> str | None:
    """``value`` encoded once as JSON text, or an error naming ``records.<index>.<name>``."""
    if value is None:
        return None
    field = f"records.{index}.{name}"
    try:
        text = _encode(value)
    except ValueError:
        problem: str | None = NOT_FINITE
    except RecursionError:
        problem = "is nested too deeply"
    except TypeError:
        problem = "must hold only JSON values"
    else:
        problem = encoded_json_problem(text)  # NUL and lone surrogates: the shared rule
        if problem is None:
            return text
    raise InvalidInputError(f"{field}: {problem}", field=field)


def _canonical_id(value: Any, index: int) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidInputError(
            f"records.{index}.id: must be a UUID", field=f"records.{index}.id"
        ) from None


def _insert_statement(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        stmt: Any = postgresql.insert(_TABLE)
    elif dialect == "sqlite":
        stmt = sqlite.insert(_TABLE)
    else:  # pragma: no cover - the two supported databases
        raise RuntimeError(f"request logs are not supported on {dialect}")
    # JSON columns take the text encoded above as is (cast on PostgreSQL, whose json type
    # checks it again; SQLite stores JSON as text).
    values: dict[str, Any] = {}
    for name in _JSON_FIELDS:
        param = bindparam(name, type_=Text())
        values[name] = cast(param, _TABLE.c[name].type) if dialect == "postgresql" else param
    # No RETURNING: SQLAlchemy then hands the rows to the driver's executemany (psycopg
    # pipelines one prepared statement) instead of rendering one giant multi-row VALUES
    # statement that psycopg re-parses on every batch (several times slower). The driver
    # sums the rows each execution inserted; skipped conflicts count 0.
    return (
        stmt.values(values)
        .on_conflict_do_nothing(index_elements=_CONFLICT_TARGET)
        .execution_options(preserve_rowcount=True)
    )


def _read_scope(
    actor: Actor, project_id: str | None, environment: str | None
) -> tuple[str, str | None]:
    """(project, environment to restrict to or None for all) that ``actor`` may read."""
    if not actor.is_admin:
        actor.require_write()
    project = actor.project_for(project_id)
    if environment is not None:
        actor.require_environment(check_environment(environment))
        return project, environment
    return project, actor.environment  # None: the admin (or a user) reads every environment


def _filtered(session: Session, query: Select[Any], filters: LogFilters) -> Select[Any]:
    if filters.prompt_slug is not None:
        check_text(filters.prompt_slug, "slug")
        query = query.where(RequestLog.prompt_slug == filters.prompt_slug)
    if filters.prompt_version is not None:
        query = query.where(RequestLog.prompt_version == filters.prompt_version)
    if filters.status is not None:
        query = query.where(RequestLog.status == filters.status)
    if filters.since is not None:
        query = query.where(RequestLog.created_at >= filters.since)
    if filters.until is not None:
        query = query.where(RequestLog.created_at < filters.until)
    if filters.tag is not None:
        check_text(filters.tag, "tag")
        query = query.where(_has_tag(session, filters.tag))
    return query


def _has_tag(session: Session, tag: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(RequestLog.tags, postgresql.JSONB).contains([tag])
    elements = func.json_each(RequestLog.tags).table_valued("value")
    return select(elements.c.value).where(elements.c.value == tag).exists()
