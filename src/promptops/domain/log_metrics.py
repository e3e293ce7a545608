"""Per-version metrics of a prompt from its request logs, by time bucket.

For each (prompt version, bucket of ``created_at``, in UTC): requests, errors, latency p50
and p95 (linear interpolation between the closest ranks, PostgreSQL's ``percentile_cont``),
input and output tokens and cost (sums of the values given; records without them add 0).
Counts and sums are computed by the database on both; the percentiles by PostgreSQL's
``percentile_cont`` there, and on SQLite (which has none) from the group's latencies in
Python by the same definition. Logs without a version are reported under version None.

With ``bucket`` hour or day, whole buckets come from the worker's rollups
(``promptops.domain.log_rollups``) and only the partial hours at the edges of the range and
the rows after the rollups' cursor from the logs themselves (:func:`split`); a bucket with a
rollup part gets its percentiles from the merged latency histogram (within 2.2%, the
lowest and highest rank exact), one answered from rows alone exactly as above. Minutes are
read from the rows.

The same read rules as the logs themselves: a ``write`` key, its own environment; the
instance admin key names the project and may pick any environment.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, case, false, func, literal_column, or_, select, union_all
from sqlalchemy.orm import Session

from promptops.contract.text import check_text
from promptops.db.models import RequestLog, RequestLogCursor, RequestLogRollup
from promptops.domain import log_rollups
from promptops.domain.access import Actor
from promptops.domain.errors import InvalidInputError
from promptops.domain.logs import _read_scope

__all__ = ["BUCKETS", "MetricsRow", "percentile", "prompt_metrics"]

BUCKETS: dict[str, str] = {  # name (PostgreSQL date_trunc) -> SQLite strftime format
    "minute": "%Y-%m-%d %H:%M:00",
    "hour": "%Y-%m-%d %H:00:00",
    "day": "%Y-%m-%d 00:00:00",
}


@dataclass(frozen=True, slots=True)
class MetricsRow:
    version: int | None
    bucket: datetime  # the bucket's start (UTC)
    requests: int
    errors: int
    latency_p50_ms: float
    latency_p95_ms: float
    input_tokens: int
    output_tokens: int
    cost_usd: float


def percentile(values: list[float], fraction: float) -> float:
    """``percentile_cont``: linear interpolation between the closest ranks of sorted values."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def prompt_metrics(
    session: Session,
    actor: Actor,
    slug: str,
    *,
    project_id: str | None = None,
    environment: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: str = "hour",
) -> list[MetricsRow]:
    """Rows ordered by version (None last), then bucket."""
    if bucket not in BUCKETS:
        raise InvalidInputError(f"bucket: one of {', '.join(BUCKETS)}", field="bucket")
    check_text(slug, "slug")
    project, scope = _read_scope(actor, project_id, environment)
    if bucket in _SPANS:
        return _from_rollups(session, project, scope, slug, since, until, _SPANS[bucket])
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        start: Any = func.date_trunc(bucket, func.timezone("UTC", RequestLog.created_at))
    else:
        start = func.strftime(BUCKETS[bucket], RequestLog.created_at)
    where = [RequestLog.project_id == project, RequestLog.prompt_slug == slug]
    if scope is not None:
        where.append(RequestLog.environment == scope)
    if since is not None:
        where.append(RequestLog.created_at >= since)
    if until is not None:
        where.append(RequestLog.created_at < until)
    columns: list[Any] = [
        RequestLog.prompt_version.label("version"),
        start.label("bucket"),
        func.count().label("requests"),
        func.sum(case((RequestLog.status == "error", 1), else_=0)).label("errors"),
        func.coalesce(func.sum(RequestLog.input_tokens), 0).label("input_tokens"),
        func.coalesce(func.sum(RequestLog.output_tokens), 0).label("output_tokens"),
        func.coalesce(func.sum(RequestLog.cost_usd), 0.0).label("cost_usd"),
    ]
    if postgres:
        for name, fraction in (("p50", 0.5), ("p95", 0.95)):
            columns.append(
                func.percentile_cont(literal_column(str(fraction)))
                .within_group(RequestLog.latency_ms)
                .label(name)
            )
    query = select(*columns).where(*where).group_by(RequestLog.prompt_version, start)
    rows = list(session.execute(query))
    latencies: dict[tuple[Any, Any], list[float]] = defaultdict(list)
    if not postgres:
        pairs = select(RequestLog.prompt_version, start, RequestLog.latency_ms).where(*where)
        for version, key, latency in session.execute(pairs):
            latencies[(version, key)].append(float(latency))
    out = []
    for row in rows:
        if postgres:
            p50, p95 = float(row.p50), float(row.p95)
        else:
            values = latencies[(row.version, row.bucket)]
            p50, p95 = percentile(values, 0.5), percentile(values, 0.95)
        out.append(
            MetricsRow(
                version=row.version,
                bucket=_aware(row.bucket),
                requests=int(row.requests),
                errors=int(row.errors or 0),
                latency_p50_ms=p50,
                latency_p95_ms=p95,
                input_tokens=int(row.input_tokens),
                output_tokens=int(row.output_tokens),
                cost_usd=float(row.cost_usd),
            )
        )
    out.sort(key=lambda r: (r.version is None, r.version or 0, r.bucket))
    return out


def _aware(value: Any) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# ---- hours and days: rollups for whole buckets, rows for the rest -------------------------

_SPANS = {"hour": log_rollups.HOUR, "day": log_rollups.DAY}
Range = tuple[float | None, float | None]  # epoch seconds [low, high); None: open


def split(low: float | None, high: float | None, spans: list[int]) -> tuple[list[Any], list[Range]]:
    """[low, high) as whole rollup buckets ``(span, first, end)`` of the longest spans
    that fit (``first``/``end`` None: open), and the rest (ranges of raw rows)."""
    if not spans:
        return [], [(low, high)]
    span = spans[0]
    first = None if low is None else math.ceil(low / span) * span
    end = None if high is None else math.floor(high / span) * span
    if first is not None and end is not None and first >= end:
        return split(low, high, spans[1:])
    rolls: list[Any] = [(span, first, end)]
    raws: list[Range] = []
    for edge_low, edge_high in ((low, first), (end, high)):
        if edge_low is not None and edge_high is not None and edge_low < edge_high:
            more_rolls, more_raws = split(edge_low, edge_high, spans[1:])
            rolls += more_rolls
            raws += more_raws
    return rolls, raws


def _from_rollups(
    session: Session,
    project: str,
    scope: str | None,
    slug: str,
    since: datetime | None,
    until: datetime | None,
    span: int,
) -> list[MetricsRow]:
    low = None if since is None else since.timestamp()
    high = None if until is None else until.timestamp()
    spans = [s for s in (log_rollups.DAY, log_rollups.HOUR) if s <= span]
    rolls, raws = split(low, high, spans)
    groups: dict[tuple[int | None, int], log_rollups.Summary] = {}
    rollup = RequestLogRollup
    cursor = RequestLogCursor
    conditions = [cursor.name == log_rollups.ROLLUPS]
    # One statement: the cursor and the rollups of one snapshot (a pass commits both).
    joined = [rollup.project_id == project, rollup.prompt_slug == slug]
    if scope is not None:
        joined.append(rollup.environment == scope)
    pieces = []
    for piece_span, first, end in rolls:
        bounds = [rollup.span == piece_span]
        if first is not None:
            bounds.append(rollup.bucket >= first)
        if end is not None:
            bounds.append(rollup.bucket < end)
        pieces.append(and_(*bounds))
    joined.append(or_(*pieces) if pieces else false())
    table = rollup.__table__.c
    query = (
        select(
            cursor.seq,
            table.prompt_version,
            table.bucket,
            table.requests,
            table.errors,
            table.input_tokens,
            table.output_tokens,
            table.cost_usd,
            table.latency_min,
            table.latency_max,
            table.histogram,
        )
        .select_from(cursor)
        .outerjoin(rollup, and_(*joined))
        .where(*conditions)
    )
    done = 0
    for row in session.execute(query):
        done = int(row.seq)
        if row.bucket is None:  # no rollup: the cursor alone
            continue
        key = (row.prompt_version or None, int(row.bucket) // span * span)
        summary = groups.get(key)
        if summary is None:
            summary = groups[key] = log_rollups.Summary()
        summary.add_rollup(row)
    where = [RequestLog.project_id == project, RequestLog.prompt_slug == slug]
    if scope is not None:
        where.append(RequestLog.environment == scope)
    if since is not None:
        where.append(RequestLog.created_at >= since)
    if until is not None:
        where.append(RequestLog.created_at < until)
    # The rows after the rollups' cursor, and those of the edges no whole bucket covers
    # (the request's own bounds are in ``where``), one statement.
    parts: list[Any] = [[RequestLog.seq > done]]
    for raw_low, raw_high in raws:
        part: list[Any] = [RequestLog.seq <= done]
        if raw_low is not None and raw_low != low:
            part.append(RequestLog.created_at >= datetime.fromtimestamp(raw_low, UTC))
        if raw_high is not None and raw_high != high:
            part.append(RequestLog.created_at < datetime.fromtimestamp(raw_high, UTC))
        parts.append(part)
    columns = (
        RequestLog.prompt_version,
        RequestLog.created_at,
        RequestLog.status,
        RequestLog.input_tokens,
        RequestLog.output_tokens,
        RequestLog.cost_usd,
        RequestLog.latency_ms,
    )
    query_rows = union_all(*(select(*columns).where(*where, *part) for part in parts))
    for version, at, status, tokens_in, tokens_out, cost, latency in session.execute(query_rows):
        start = int(_aware(at).timestamp()) // span * span
        key = (version, start)
        summary = groups.get(key)
        if summary is None:
            summary = groups[key] = log_rollups.Summary()
        summary.add_row(status == "error", tokens_in, tokens_out, cost, float(latency))
    out = []
    for (version, start), summary in groups.items():
        p50, p95 = summary.percentiles(0.5, 0.95)
        out.append(
            MetricsRow(
                version=version,
                bucket=datetime.fromtimestamp(start, UTC),
                requests=summary.requests,
                errors=summary.errors,
                latency_p50_ms=p50,
                latency_p95_ms=p95,
                input_tokens=summary.input_tokens,
                output_tokens=summary.output_tokens,
                cost_usd=summary.cost_usd,
            )
        )
    out.sort(key=lambda r: (r.version is None, r.version or 0, r.bucket))
    return out
