"""Request logs: each LLM call the SDK's ``run()`` made, sent in batches, read newest first.

Ingestion is one bulk insert per batch on the driver connection
(``promptops.domain.log_store``: executemany of ``INSERT ... ON CONFLICT (project_id, id) DO
NOTHING`` on SQLite; COPY and an insert of the ids not stored yet, under the project's
advisory lock, on PostgreSQL's partitioned table; no ORM objects or SQLAlchemy binding per
record). The client-generated ``id`` is the idempotency key, so a batch re-sent after a lost
acknowledgement stores nothing twice, even when copies race.

The caller checks the records' shape (the HTTP schemas do); this module derives project and
environment from the key, and encodes each JSON field exactly once (or, with ``encoded``,
checks the text the fast decoder kept), strictly: NaN/infinity,
NUL characters and lone surrogates are refused with the record's index and field, and the
encoded text is what gets stored (the database driver does not serialize it again).

Reading logs needs a ``write`` key (logs carry end users' requests and responses, and
``read`` keys are embedded in applications) and, like prompt reads, stays in the key's
environment; the instance admin key names the project and may read every environment.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Select,
    Text,
    any_,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
    tuple_,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from promptops.contract.text import NOT_FINITE, check_text, encoded_json_problem
from promptops.db.models import RequestLog, RequestLogCursor, utcnow
from promptops.domain import log_store
from promptops.domain.access import Actor, check_environment
from promptops.domain.errors import InvalidInputError, NotFoundError, PermissionDeniedError

__all__ = [
    "MAX_BATCH",
    "SEARCH_TUNING",
    "STATUSES",
    "IngestResult",
    "LogFilters",
    "SearchTuning",
    "get_log",
    "ingest",
    "list_logs",
]

MAX_BATCH = 1000
STATUSES: tuple[str, ...] = ("ok", "error")

_JSON_FIELDS = ("request", "response", "metadata", "tags")
_CANONICAL_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
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
    provider: str | None = None
    model: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()  # (key, value): metadata[key] == value (text)
    text: str | None = None  # in the request's or the response's JSON text, any case


def ingest(
    session: Session,
    actor: Actor,
    records: Sequence[Mapping[str, Any]],
    *,
    received_at: datetime | None = None,
    encoded: bool = False,
) -> IngestResult:
    """Store a batch of validated records (API field names) in the key's project and
    environment, all or nothing (the caller's transaction). Returns what was new.

    With ``encoded``, the JSON fields are JSON text already (the HTTP fast path's decoder
    encodes them), checked here by the same rule as the values this function encodes."""
    actor.require_project_key()
    project_id = actor.project_for(None)
    if len(records) > MAX_BATCH:
        raise InvalidInputError(
            f"a batch holds at most {MAX_BATCH} records, got {len(records)}", field="records"
        )
    now = received_at or utcnow()
    json_text = _same_text if encoded else _json_text
    label = actor.label
    own = actor.environment
    rows: dict[str, list[Any]] = {}
    for index, record in enumerate(records):
        given = record.get("environment")
        environment = own if given is None and own is not None else None
        if environment is None:
            environment = _record_environment(actor, given, index)
        log_id = _canonical_id(record["id"], index)
        if log_id in rows:
            continue
        rows[log_id] = [
            log_id,
            project_id,
            environment,
            label,
            now,
            record.get("created_at") or now,
            record["provider"],
            record["model"],
            record.get("prompt_slug"),
            record.get("prompt_version"),
            record["status"],
            record.get("error"),
            record["latency_ms"],
            record.get("input_tokens"),
            record.get("output_tokens"),
            record.get("cost_usd"),
            json_text(record.get("request"), index, "request"),
            json_text(record.get("response"), index, "response"),
            json_text(record.get("metadata"), index, "metadata"),
            json_text(record.get("tags"), index, "tags"),
        ]
    if encoded:
        _check_encoded(records)
    accepted = log_store.insert_rows(session, list(rows.values()))
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
    search: SearchTuning | None = None,
) -> tuple[list[RequestLog], int | None]:
    """Logs newest first, and the cursor of the next page (None at the end).

    Newest by arrival (``seq``); with a time range (``since``/``until``), newest by call time
    (``created_at``, then ``seq``), so that the ``(project, environment, created_at, seq)``
    index walks the range itself however far back it lies. The cursor is the ``seq`` of
    the page's last row either way (a range's next page looks that row's ``created_at``
    up; if retention removed it meanwhile, the pages end there)."""
    filters = filters or LogFilters()
    project, environment = _read_scope(actor, project_id, filters.environment)
    query = select(RequestLog).where(RequestLog.project_id == project)
    if environment is not None:
        query = query.where(RequestLog.environment == environment)
    by_time = filters.since is not None or filters.until is not None
    if before is not None and by_time:
        at = session.scalar(
            select(RequestLog.created_at).where(
                RequestLog.project_id == project, RequestLog.seq == before
            )
        )
        if at is None:
            return [], None
        query = query.where(tuple_(RequestLog.created_at, RequestLog.seq) < tuple_(at, before))
    elif before is not None:
        query = query.where(RequestLog.seq < before)
    postgres = session.get_bind().dialect.name == "postgresql"
    text_filter = filters.text if postgres else None
    query = _filtered(session, query, filters, text=not postgres)
    if by_time:
        query = query.order_by(RequestLog.created_at.desc(), RequestLog.seq.desc())
    else:
        query = query.order_by(RequestLog.seq.desc())
    query = query.limit(limit + 1)
    if text_filter is None:
        rows = list(session.scalars(query))
    else:
        rows = _searched(
            session,
            query,
            check_text(text_filter, "q"),
            by_time,
            limit,
            project=project,
            before=before,
            tuning=search or SEARCH_TUNING,
        )
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


def _same_text(value: str | None, index: int, name: str) -> str | None:
    return value  # JSON text encoded by the caller: :func:`_check_encoded` checks the batch


def _check_encoded(records: Sequence[Mapping[str, Any]]) -> None:
    """The rule :func:`_json_text` applies, for JSON text the caller encoded: one pass over
    the whole batch's text (a problem in any field is a problem in the joined text, and
    the separator cannot complete an escape), then, only if it finds one, field by field
    for the error naming ``records.<index>.<field>``."""
    texts = [record.get(name) for record in records for name in _JSON_FIELDS]
    if encoded_json_problem("\n".join(text for text in texts if text is not None)) is None:
        return
    for index, record in enumerate(records):
        for name in _JSON_FIELDS:
            value = record.get(name)
            problem = None if value is None else encoded_json_problem(value)
            if problem is not None:
                field = f"records.{index}.{name}"
                raise InvalidInputError(f"{field}: {problem}", field=field)


def _canonical_id(value: Any, index: int) -> str:
    if isinstance(value, str) and _CANONICAL_ID.fullmatch(value):
        return value
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise InvalidInputError(
            f"records.{index}.id: must be a UUID", field=f"records.{index}.id"
        ) from None


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


def _filtered(
    session: Session, query: Select[Any], filters: LogFilters, *, text: bool = True
) -> Select[Any]:
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
    if filters.provider is not None:
        query = query.where(RequestLog.provider == check_text(filters.provider, "provider"))
    if filters.model is not None:
        query = query.where(RequestLog.model == check_text(filters.model, "model"))
    postgres = session.get_bind().dialect.name == "postgresql"
    for key, value in filters.metadata:
        check_text(key, "metadata")
        check_text(value, "metadata")
        query = query.where(_has_metadata(postgres, key, value))
    if filters.text is not None and text:
        query = query.where(_has_text(check_text(filters.text, "q")))
    return query


_SEARCH = table("request_log_search", column("seq"), column("project_id"), column("body"))


# The request and response JSON text, as the worker copies it into request_log_search
# (log_rollups.SEARCH_TEXT; a trigram index on request_logs itself cut ingestion five-fold).
_SEARCH_TEXT: Any = literal_column(
    "(request_logs.request::text || ' ' || coalesce(request_logs.response::text, ''))"
)


def _pattern(needle: str) -> str:
    return "%" + needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _has_text(needle: str) -> Any:
    pattern = _pattern(needle)
    return or_(
        cast(RequestLog.request, Text).ilike(pattern, escape="\\"),
        cast(RequestLog.response, Text).ilike(pattern, escape="\\"),
    )


@dataclass(frozen=True, slots=True)
class SearchTuning:
    """How ``q`` on PostgreSQL chooses its plan (:func:`_searched`); the defaults suit
    millions of rows, tests pass small ones to take every branch on a few rows."""

    sample: int = 2000  # the newest copy rows (by seq) in which the word's frequency is judged
    min_sample: int = 200  # fewer of the project's rows there: no judgement, the planner's plan
    walk: int = 20_000  # rows a page may walk newest first and stay fast
    probe: int = 1000  # candidates taken from the trigram index at a time (newest first)
    rounds: int = 3  # times, before the page walks on from the oldest candidate


SEARCH_TUNING = SearchTuning()


def _searched(
    session: Session,
    query: Select[Any],
    needle: str,
    by_time: bool,
    limit: int,
    *,
    project: str,
    before: int | None,
    tuning: SearchTuning,
) -> list[RequestLog]:
    """``q`` on PostgreSQL: after the search cursor (the last seconds) from the rows
    themselves; up to it from the worker's copy of the text (``request_log_search``,
    trigram index), by a plan chosen here rather than by the planner, whose estimate of an
    ``ILIKE``'s selectivity is far off on a large copy (at 10M rows it walked the whole
    table newest first for a word in 1 of 100,000 rows):

    - **walk** (a common word): the page order, probing the copy row by row; a page ends
      after about ``limit / frequency`` rows.
    - **probe** (a rare word): the copy's newest matching ``seq`` values from the trigram
      index alone (``tuning.probe`` at a time; the planner is told to use the index), then
      the page from those rows with the other filters, in chunks, newest first. Still
      short of a page after ``tuning.rounds`` probes: the walk from the oldest candidate.

    The word's frequency is judged on the newest ``tuning.sample`` rows of the copy (a
    ``seq`` range, so a bounded read whatever the project's size). Both plans return the
    same rows in the same order; two or three statements, merged in the page order (rows
    after the cursor have the higher ``seq``, so by arrival they come first)."""
    pattern = _pattern(needle)
    done = int(
        session.scalar(select(RequestLogCursor.seq).where(RequestLogCursor.name == "search")) or 0
    )
    fresh = list(
        session.scalars(
            query.where(RequestLog.seq > done, _SEARCH_TEXT.ilike(pattern, escape="\\"))
        )
    )
    if len(fresh) > limit and not by_time:
        return fresh
    high = done if before is None or by_time else min(done, before - 1)
    older: list[RequestLog] = []
    below: int | None = high  # the copied rows at or below it come from the walk
    if search_plan(session, project, pattern, high, limit, tuning) == "probe":
        older, below = _from_candidates(
            session, query, project, pattern, high, limit, by_time, tuning
        )
    if below is not None:
        copied = (
            select(_SEARCH.c.seq)
            .where(_SEARCH.c.seq == RequestLog.seq, _SEARCH.c.body.ilike(pattern, escape="\\"))
            .exists()
        )
        older += session.scalars(query.where(RequestLog.seq <= below, copied))
    rows = fresh + older
    if by_time:
        rows.sort(key=lambda row: (row.created_at, row.seq), reverse=True)
    return rows[: limit + 1]


def search_plan(
    session: Session, project: str, pattern: str, high: int, limit: int, tuning: SearchTuning
) -> str:
    """``"probe"`` when the word is rare among the project's newest copied rows up to
    ``high`` (a walk would read more than ``tuning.walk`` rows for a page), else ``"walk"``."""
    sampled, matched = session.execute(
        select(
            func.count(),
            func.count().filter(_SEARCH.c.body.ilike(pattern, escape="\\")),
        ).where(
            _SEARCH.c.seq > high - tuning.sample,
            _SEARCH.c.seq <= high,
            _SEARCH.c.project_id == project,
        )
    ).one()
    if sampled < tuning.min_sample:
        return "walk"
    return "walk" if matched * tuning.walk >= (limit + 1) * sampled else "probe"


def _from_candidates(
    session: Session,
    query: Select[Any],
    project: str,
    pattern: str,
    high: int,
    limit: int,
    by_time: bool,
    tuning: SearchTuning,
) -> tuple[list[RequestLog], int | None]:
    """The page's copied rows from the trigram index's candidates, newest ``seq`` first,
    ``tuning.probe`` at a time, and where the walk must go on: (rows, None) when they are
    the page; (rows, below) when every candidate above ``below`` was looked at in
    ``tuning.rounds`` probes and the page needs rows at or below it; ([], high) by call
    time with too many candidates (the page order is not theirs)."""
    rows: list[RequestLog] = []
    size = max(4 * (limit + 1), 100)
    for _ in range(tuning.rounds):
        seqs = _probe(session, project, pattern, high, tuning.probe + 1)
        more = len(seqs) > tuning.probe
        if by_time:  # ordered by call time: every candidate is needed
            return ([], high) if more else (_rows_of(session, query, seqs), None)
        seqs = seqs[: tuning.probe]
        for start in range(0, len(seqs), size):  # in seq order, so the first rows found win
            rows += _rows_of(session, query, seqs[start : start + size])
            if len(rows) > limit:
                return rows, None
        if not more:
            return rows, None
        high = seqs[-1] - 1
    return rows, high


def _rows_of(session: Session, query: Select[Any], seqs: list[int]) -> list[RequestLog]:
    if not seqs:
        return []
    chosen = bindparam("candidates", seqs, type_=postgresql.ARRAY(BigInteger))
    return list(session.scalars(query.where(RequestLog.seq == any_(chosen))))


def _probe(session: Session, project: str, pattern: str, high: int, most: int) -> list[int]:
    """The ``seq`` of the newest ``most`` copied rows of ``project`` up to ``high`` that
    match, newest first, from the trigram index (a bitmap scan and a top-N sort: sequential
    and plain index scans are off for this one statement)."""
    session.execute(text("SET LOCAL enable_seqscan = off; SET LOCAL enable_indexscan = off"))
    try:
        return list(
            session.scalars(
                select(_SEARCH.c.seq)
                .where(
                    _SEARCH.c.body.ilike(pattern, escape="\\"),
                    _SEARCH.c.project_id == project,
                    _SEARCH.c.seq <= high,
                )
                .order_by(_SEARCH.c.seq.desc())
                .limit(most)
            )
        )
    finally:
        session.execute(text("RESET enable_seqscan; RESET enable_indexscan"))


def _has_metadata(postgres: bool, key: str, value: str) -> Any:
    if postgres:  # the GIN (jsonb_path_ops) index of migration 0008 serves @>
        return cast(RequestLog.meta, postgresql.JSONB).contains({key: value})
    entries = func.json_each(RequestLog.meta).table_valued("key", "value", "type")
    return (
        select(entries.c.key)
        .where(entries.c.key == key, entries.c.value == value, entries.c.type == "text")
        .exists()
    )


def _has_tag(session: Session, tag: str) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        return cast(RequestLog.tags, postgresql.JSONB).contains([tag])
    elements = func.json_each(RequestLog.tags).table_valued("value")
    return select(elements.c.value).where(elements.c.value == tag).exists()
