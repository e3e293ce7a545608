"""/v1/logs: the SDK's batches of LLM-call logs in; newest-first pages out.

A batch is validated whole (one bad record refuses the batch, naming
``records.<index>.<field>``; msgspec decodes it fast, and where it declines the pydantic
models below, the contract, decide: ``promptops.server.api.log_decode``) and stored in one
transaction that commits before the reply: a 2xx means every record in it is durable.
Record ids are idempotency keys, so the SDK re-sends a batch whose reply it did not get and
nothing is stored twice.

Writes run in worker threads of their own (one at a time on SQLite, whose writers queue on
one lock anyway), so a burst of log batches never takes the threads that the prompt read
path and the rest of the API use.
"""

from __future__ import annotations

import copy
import email.message
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import anyio
import anyio.to_thread
from fastapi import APIRouter, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import AfterValidator, BaseModel, Field, ValidationError

from promptops.contract.errors import ErrorBody
from promptops.contract.fields import Environment, Input, Str, Text
from promptops.domain import logs
from promptops.domain.access import Actor
from promptops.domain.errors import InvalidInputError
from promptops.server.api.deps import ActorDep, AppState, Limit, ProjectQuery, ReadSession, StateDep
from promptops.server.api.log_decode import decode_batch

__all__ = [
    "LogBatch",
    "LogBatchResult",
    "LogList",
    "LogOut",
    "LogRecordIn",
    "limiters_for",
    "parse",
    "require_json",
    "router",
    "store",
]

router = APIRouter(prefix="/v1/logs", tags=["logs"])

_MAX_INT = 2_147_483_647
_PG_WRITERS = 4
_PARSERS = 2


def _utc(value: datetime) -> datetime:
    """Aware UTC (a time without an offset is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is out of range once converted to UTC") from None


UTCDateTime = Annotated[datetime, AfterValidator(_utc)]
NonNegative = Annotated[float, Field(strict=True, ge=0, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, ge=0, le=_MAX_INT)]
Tag = Str(100, 1)


class LogRecordIn(Input):
    """One LLM call, as the SDK's ``run()`` reports it."""

    id: UUID = Field(description="Client-generated UUID; re-sending it stores nothing twice")
    created_at: UTCDateTime | None = Field(
        None, description="When the call happened (client clock); default: arrival time"
    )
    provider: Str(50, 1) = Field(  # type: ignore[valid-type]
        description="openai, anthropic, gemini or other"
    )
    model: Str(200, 1)  # type: ignore[valid-type]
    prompt_slug: Str(100, 1) | None = None  # type: ignore[valid-type]
    prompt_version: Annotated[int, Field(strict=True, ge=1, le=_MAX_INT)] | None = None
    environment: Environment | None = Field(
        None, description="Must be the key's environment if given (the default)"
    )
    # JSON contents (NaN, NUL, lone surrogates) are checked by the domain while it encodes
    # them, once, for storage; the parser already bounds their nesting.
    request: dict[str, Any]
    response: dict[str, Any] | None = None
    status: Literal["ok", "error"]
    error: Text | None = None
    latency_ms: NonNegative
    input_tokens: Count | None = None
    output_tokens: Count | None = None
    cost_usd: NonNegative | None = None
    metadata: dict[str, Any] | None = None
    tags: Annotated[list[Tag], Field(max_length=50)] | None = None  # type: ignore[valid-type]


class LogBatch(Input):
    records: Annotated[list[LogRecordIn], Field(max_length=logs.MAX_BATCH)]


class LogBatchResult(BaseModel):
    accepted: int = Field(description="Records stored by this request")
    duplicates: int = Field(description="Records whose id was already stored (not stored again)")


class LogOut(BaseModel):
    id: str
    environment: str
    received_at: datetime
    created_at: datetime
    provider: str
    model: str
    prompt_slug: str | None
    prompt_version: int | None
    status: str
    error: str | None
    latency_ms: float
    input_tokens: int | None
    output_tokens: int | None
    cost_usd: float | None
    request: dict[str, Any]
    response: dict[str, Any] | None
    metadata: dict[str, Any] | None
    tags: list[str] | None
    actor: str | None = Field(description="Who sent the record: the API key's prefix")


class LogList(BaseModel):
    data: list[LogOut]
    next_cursor: str | None = Field(description="Opaque; pass as `cursor` for the next page")


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """A JSON schema with its ``$defs`` inlined, to embed in the OpenAPI document."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(copy.deepcopy(defs[ref.removeprefix("#/$defs/")]))
            return {key: resolve(value) for key, value in node.items()}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return dict(resolve(schema))


_BATCH_SCHEMA = _inline_refs(LogBatch.model_json_schema())
_POST_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 413, 422, 503)
}
_GET_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422)
}


@router.post(
    "",
    response_model=LogBatchResult,
    responses=_POST_ERRORS,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _BATCH_SCHEMA}},
        }
    },
)
async def ingest_logs(request: Request, actor: ActorDep, st: StateDep) -> LogBatchResult:
    """Store a batch of up to 1000 records in the key's project and environment (any
    project key, `read` included). All or nothing; the reply comes after the commit."""
    require_json(request.headers.get("content-type"))
    body = await request.body()
    limiters = limiters_for(request.app.state, st)
    records, encoded = await anyio.to_thread.run_sync(parse, body, limiter=limiters[0])
    result = await anyio.to_thread.run_sync(store, st, actor, records, encoded, limiter=limiters[1])
    return LogBatchResult(accepted=result.accepted, duplicates=result.duplicates)


def parse(body: bytes) -> tuple[list[dict[str, Any]], bool]:
    """(records, JSON fields encoded already): the body parsed and validated in one pass,
    off the event loop; by the fast decoder, or where it declines by the contract."""
    fast = decode_batch(body)
    if fast is not None:
        return fast, True
    try:
        batch = LogBatch.model_validate_json(body)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])} for error in exc.errors()]
        ) from None
    return [vars(record) for record in batch.records], False  # the fields, without copying


def store(
    st: AppState, actor: Actor, records: list[dict[str, Any]], encoded: bool
) -> logs.IngestResult:
    with st.db.write() as session:
        return logs.ingest(session, actor, records, encoded=encoded)


def require_json(content_type: str | None) -> None:
    """As FastAPI does for JSON bodies: a JSON media type is required (no CSRF-able forms)."""
    if content_type:
        message = email.message.Message()
        message["content-type"] = content_type
        subtype = message.get_content_subtype()
        if message.get_content_maintype() == "application" and (
            subtype == "json" or subtype.endswith("+json")
        ):
            return
    raise RequestValidationError(
        [{"type": "model_attributes_type", "loc": ("body",), "msg": "not JSON", "input": None}]
    )


def limiters_for(
    app_state: Any, st: AppState
) -> tuple[anyio.CapacityLimiter, anyio.CapacityLimiter]:
    """(parsers, writers) of the FastAPI app whose ``state`` is ``app_state``: threads of
    their own, so log batches never take the ones the rest of the app uses (shared with
    the raw front, ``server/ingest.py``). One writer on SQLite, whose writers queue on one
    lock anyway."""
    limiters = getattr(app_state, "log_limiters", None)
    if limiters is None:  # created in the event loop, once per app
        writers = 1 if st.db.is_sqlite else _PG_WRITERS
        limiters = (anyio.CapacityLimiter(_PARSERS), anyio.CapacityLimiter(writers))
        app_state.log_limiters = limiters
    return limiters


@router.get("", response_model=LogList, responses=_GET_ERRORS)
def list_logs(
    actor: ActorDep,
    session: ReadSession,
    project_id: ProjectQuery = None,
    limit: Limit = 50,
    cursor: Annotated[
        str | None, Query(max_length=18, pattern=r"^[0-9]+$", description="next_cursor")
    ] = None,
    slug: Annotated[str | None, Query(max_length=100)] = None,
    version: Annotated[int | None, Query(ge=1, le=_MAX_INT)] = None,
    environment: Environment | None = None,
    status: Literal["ok", "error"] | None = None,
    since: Annotated[UTCDateTime | None, Query(description="created_at >= since")] = None,
    until: Annotated[UTCDateTime | None, Query(description="created_at < until")] = None,
    tag: Annotated[str | None, Query(max_length=100)] = None,
    provider: Annotated[str | None, Query(max_length=50)] = None,
    model: Annotated[str | None, Query(max_length=200)] = None,
    metadata: Annotated[
        list[str] | None,
        Query(
            max_length=10,
            description="`key=value`: records whose metadata has that text value (repeatable;"
            " all must match)",
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=200,
            description="Text in the request's or response's JSON, any case",
        ),
    ] = None,
) -> LogList:
    """Logs newest first. A project key needs role `write` and sees its own environment;
    the instance admin key names the project and may filter by any environment. Every
    filter given must match; pages follow `next_cursor` (keyset on arrival order; with
    `since`/`until`, newest call time first)."""
    filters = logs.LogFilters(
        environment=environment,
        prompt_slug=slug,
        prompt_version=version,
        status=status,
        since=since,
        until=until,
        tag=tag,
        provider=provider,
        model=model,
        metadata=tuple(_pair(item) for item in metadata or ()),
        text=q,
    )
    rows, after = logs.list_logs(
        session,
        actor,
        project_id=project_id,
        filters=filters,
        limit=limit,
        before=int(cursor) if cursor else None,
    )
    return LogList(data=[_log_out(r) for r in rows], next_cursor=str(after) if after else None)


def _pair(item: str) -> tuple[str, str]:
    key, sep, value = item.partition("=")
    if not sep or not key:
        raise InvalidInputError(f"metadata: {item[:50]!r} is not key=value", field="metadata")
    return key, value


@router.get("/{log_id}", response_model=LogOut, responses=_GET_ERRORS)
def get_log(
    log_id: str, actor: ActorDep, session: ReadSession, project_id: ProjectQuery = None
) -> LogOut:
    return _log_out(logs.get_log(session, actor, log_id, project_id=project_id))


def _log_out(row: Any) -> LogOut:
    return LogOut(
        id=row.id,
        environment=row.environment,
        received_at=row.received_at,
        created_at=row.created_at,
        provider=row.provider,
        model=row.model,
        prompt_slug=row.prompt_slug,
        prompt_version=row.prompt_version,
        status=row.status,
        error=row.error,
        latency_ms=row.latency_ms,
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
        cost_usd=row.cost_usd,
        request=row.request,
        response=row.response,
        metadata=row.meta,
        tags=row.tags,
        actor=row.actor,
    )
