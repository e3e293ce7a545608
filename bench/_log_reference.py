"""The previous log-ingestion path, kept callable as the reference of ``bench.log_ingest``.

This is ``POST /v1/logs`` as it was before the fast path (issue 16): the whole body validated
by the pydantic contract (``LogBatch.model_validate_json``), JSON fields encoded by Python's
``json``, and one SQLAlchemy ``INSERT ... ON CONFLICT DO NOTHING`` executemany that binds
20 columns per row. The bench mounts it at :data:`PATH` beside the real route in the same
server process, so both are measured in one run, on one table, under one load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from typing import cast as typed

import anyio.to_thread
from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import Table, Text, bindparam, cast
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from promptops.db.models import RequestLog, utcnow
from promptops.domain import logs
from promptops.domain.access import Actor
from promptops.server.api.deps import ActorDep, AppState, StateDep
from promptops.server.api.routes import logs as route

__all__ = ["PATH", "ingest", "mount"]

PATH = "/bench/reference/logs"
_TABLE = typed(Table, RequestLog.__table__)
_JSON_FIELDS = ("request", "response", "metadata", "tags")


def mount(app: Any) -> None:
    """Add the reference endpoint to the FastAPI app inside ``app`` (``create_app`` wraps it
    in the read path's ASGI layer, which passes other paths through to ``app.app``)."""
    while not isinstance(app, FastAPI):
        app = app.app
    router = APIRouter()

    @router.post(PATH)
    async def reference(request: Request, actor: ActorDep, st: StateDep) -> dict[str, int]:
        body = await request.body()
        parsers, writers = route.limiters_for(request.app.state, st)
        records = await anyio.to_thread.run_sync(_parse, body, limiter=parsers)
        result = await anyio.to_thread.run_sync(_write, st, actor, records, limiter=writers)
        return {"accepted": result.accepted, "duplicates": result.duplicates}

    app.include_router(router)


def _parse(body: bytes) -> list[dict[str, Any]]:
    batch = route.LogBatch.model_validate_json(body)
    return [vars(record) for record in batch.records]


def _write(st: AppState, actor: Actor, records: list[dict[str, Any]]) -> logs.IngestResult:
    with st.db.write() as session:
        return ingest(session, actor, records)


def ingest(
    session: Session, actor: Actor, records: Sequence[Mapping[str, Any]]
) -> logs.IngestResult:
    """``promptops.domain.logs.ingest`` as it was (dict rows bound by SQLAlchemy)."""
    actor.require_project_key()
    project_id = actor.project_for(None)
    now = utcnow()
    rows: dict[str, dict[str, Any]] = {}
    for index, record in enumerate(records):
        environment = logs._record_environment(actor, record.get("environment"), index)
        log_id = logs._canonical_id(record["id"], index)
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
            row[name] = logs._json_text(record.get(name), index, name)
        rows[log_id] = row
    accepted = 0
    if rows:
        result: Any = session.execute(_insert_statement(session), list(rows.values()))
        accepted = result.rowcount
    return logs.IngestResult(accepted=accepted, duplicates=len(records) - accepted)


def _insert_statement(session: Session) -> Any:
    dialect = session.get_bind().dialect.name
    stmt: Any = postgresql.insert(_TABLE) if dialect == "postgresql" else sqlite.insert(_TABLE)
    values: dict[str, Any] = {}
    for name in _JSON_FIELDS:
        param = bindparam(name, type_=Text())
        values[name] = cast(param, _TABLE.c[name].type) if dialect == "postgresql" else param
    return (
        stmt.values(values)
        # The partitioned table of PostgreSQL (migration 0007) has no unique (project_id, id)
        # to name; the bench's ids are all new, so the statement does the same work.
        .on_conflict_do_nothing()
        .execution_options(preserve_rowcount=True)
    )
