"""Per-version metrics of a prompt from its request logs, by time bucket.

For each (prompt version, bucket of ``created_at``, in UTC): requests, errors, latency p50
and p95 (linear interpolation between the closest ranks, PostgreSQL's ``percentile_cont``),
input and output tokens and cost (sums of the values given; records without them add 0).
Counts and sums are computed by the database on both; the percentiles by PostgreSQL's
``percentile_cont`` there, and on SQLite (which has none) from the group's latencies in
Python by the same definition. Logs without a version are reported under version None.

The same read rules as the logs themselves: a ``write`` key, its own environment; the
instance admin key names the project and may pick any environment.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, literal_column, select
from sqlalchemy.orm import Session

from promptops.contract.text import check_text
from promptops.db.models import RequestLog
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
