"""Worker passes over the request logs: metric rollups and the text-search copy.

Both follow the logs in ``seq`` order from a cursor (``request_log_cursors``), in chunks of
at most :data:`CHUNK` rows, each chunk one transaction that also moves the cursor, so a
pass interrupted anywhere resumes where it stopped, and any number of workers may run (the
cursor row is locked for the chunk; on SQLite writers are serial anyway).

**Which rows are final.** A pass reads up to :func:`committed_seq`: a ``seq`` below which
no transaction is still writing. ``seq`` values are taken at insert time, and a batch with
a lower one may commit after a higher one, so the highest visible ``seq`` is not enough.
On PostgreSQL every log batch holds a shared advisory lock (:data:`LOCK_KEY`, taken by
``log_store`` in the statement that starts the batch; shared locks never wait for each
other); the pass takes it exclusively for an instant, so every batch that got a ``seq``
has finished, and reads ``max(seq)``. On SQLite writers are serial: ``max(seq)`` inside a
write transaction is final.

**Rollups** (``request_log_rollups``): per project, prompt, environment, version and UTC
hour *and* UTC day of ``created_at`` (rows without a prompt are not rolled up):
requests, errors, input/output tokens, cost, latency min/max and a latency histogram of
:data:`BINS_PER_DOUBLING` bins per doubling (bin ``floor(log2(ms) * 16)``, latencies below
1 µs in the lowest bin). Histograms merge by adding counts, so a late row (an old
``created_at``) simply adds to its old bucket. ``log_metrics`` reads them.

**Search** (PostgreSQL, ``request_log_search``): each row's request and response JSON
text, with a trigram index; ``logs`` answers ``q`` from it up to the cursor and from the
rows themselves after it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from promptops.db.models import RequestLogCursor, RequestLogRollup
from promptops.db.session import Database
from promptops.domain.log_store import LOCK_KEY

__all__ = [
    "BINS_PER_DOUBLING",
    "CHUNK",
    "DAY",
    "HOUR",
    "LOCK_KEY",
    "Summary",
    "bin_of",
    "committed_seq",
    "cursor",
    "fill_search",
    "roll_up",
]

CHUNK = 50_000
HOUR, DAY = 3600, 86400
BINS_PER_DOUBLING = 16
_MIN_MS = 0.001
_SCALE = BINS_PER_DOUBLING / math.log(2)
ROLLUPS, SEARCH = "rollups", "search"


def bin_of(latency_ms: float) -> int:
    """The histogram bin of a latency, as the rollup SQL computes it."""
    return math.floor(math.log(max(latency_ms, _MIN_MS)) * _SCALE)


def bin_value(index: int) -> float:
    """A bin's representative: its geometric middle (within 2.2% of any value in it)."""
    return float(2.0 ** ((index + 0.5) / BINS_PER_DOUBLING))


@dataclass(slots=True)
class Summary:
    """Sums of a group of logs; ``values`` (exact latencies) only while no histogram
    part was merged in."""

    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    latency_min: float = math.inf
    latency_max: float = -math.inf
    bins: dict[int, int] = field(default_factory=dict)
    values: list[float] | None = field(default_factory=list)

    def add_row(self, error: bool, tokens_in: Any, tokens_out: Any, cost: Any, ms: float) -> None:
        self.requests += 1
        self.errors += int(error)
        self.input_tokens += tokens_in or 0
        self.output_tokens += tokens_out or 0
        self.cost_usd += cost or 0.0
        self.latency_min = min(self.latency_min, ms)
        self.latency_max = max(self.latency_max, ms)
        index = bin_of(ms)
        self.bins[index] = self.bins.get(index, 0) + 1
        if self.values is not None:
            self.values.append(ms)

    def add_summary(self, other: Summary) -> None:
        self.requests += other.requests
        self.errors += other.errors
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cost_usd += other.cost_usd
        self.latency_min = min(self.latency_min, other.latency_min)
        self.latency_max = max(self.latency_max, other.latency_max)
        for index, count in other.bins.items():
            self.bins[index] = self.bins.get(index, 0) + count
        self.values = None  # a histogram part: percentiles from the bins from now on

    def add_rollup(self, row: Any) -> None:
        """:meth:`add_summary` of a rollup row, its histogram merged as it is parsed."""
        self.requests += int(row.requests)
        self.errors += int(row.errors)
        self.input_tokens += int(row.input_tokens)
        self.output_tokens += int(row.output_tokens)
        self.cost_usd += float(row.cost_usd)
        self.latency_min = min(self.latency_min, float(row.latency_min))
        self.latency_max = max(self.latency_max, float(row.latency_max))
        bins = self.bins
        get = bins.get
        for key, count in json.loads(row.histogram).items():
            index = int(key)
            bins[index] = get(index, 0) + count
        self.values = None

    def percentile(self, fraction: float) -> float:
        """``percentile_cont`` of the latencies: exact from ``values``, else from the bins
        (each rank's value is its bin's middle, kept within the group's min and max)."""
        return self.percentiles(fraction)[0]

    def percentiles(self, *fractions: float) -> list[float]:
        """:meth:`percentile` of each of ``fractions`` (ascending), in one pass over the
        bins."""
        if self.values is not None:
            from promptops.domain.log_metrics import percentile

            return [percentile(self.values, fraction) for fraction in fractions]
        last = self.requests - 1
        wants: list[tuple[int, int, float]] = []  # (rank, which, weight) in rank order
        for which, fraction in enumerate(fractions):
            position = fraction * last
            low = math.floor(position)
            wants.append((low, which, 1.0 - (position - low)))
            wants.append((min(low + 1, last), which, position - low))
        wants.sort()
        out = [0.0] * len(fractions)
        bins = self.bins
        i, seen = 0, 0
        for index in sorted(bins):
            seen += bins[index]
            while i < len(wants) and seen > wants[i][0]:  # that rank falls in this bin
                rank, which, weight = wants[i]
                if rank == 0:  # the extremes are known exactly
                    value = self.latency_min
                elif rank == last:
                    value = self.latency_max
                else:
                    value = min(max(bin_value(index), self.latency_min), self.latency_max)
                out[which] += value * weight
                i += 1
            if i == len(wants):
                return out
        raise AssertionError("the bins hold fewer rows than counted")  # pragma: no cover

    def row(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cost_usd": self.cost_usd,
            "latency_min": self.latency_min,
            "latency_max": self.latency_max,
            "histogram": json.dumps({str(k): v for k, v in sorted(self.bins.items())}),
        }

    @classmethod
    def of_rollup(cls, row: Any) -> Summary:
        return cls(
            requests=int(row.requests),
            errors=int(row.errors),
            input_tokens=int(row.input_tokens),
            output_tokens=int(row.output_tokens),
            cost_usd=float(row.cost_usd),
            latency_min=float(row.latency_min),
            latency_max=float(row.latency_max),
            bins={int(k): v for k, v in json.loads(row.histogram).items()},
            values=None,
        )


# ---- the cursor and the committed end ---------------------------------------------------


def committed_seq(db: Database) -> int:
    """A ``seq`` such that every log row at or below it is committed (or gone for good)."""
    if db.is_sqlite:
        with db.write() as session:
            return int(session.scalar(text("SELECT max(seq) FROM request_logs")) or 0)
    with db.engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '5s'"))
        connection.execute(text(f"SELECT pg_advisory_xact_lock({LOCK_KEY})"))
        return int(connection.scalar(text("SELECT max(seq) FROM request_logs")) or 0)


def cursor(session: Session, name: str, *, lock: bool = False) -> int:
    """How far the pass ``name`` got (0: not started); with ``lock``, held to the commit."""
    query = select(RequestLogCursor.seq).where(RequestLogCursor.name == name)
    if lock:
        table = RequestLogCursor.__table__
        dialect = session.get_bind().dialect.name
        maker: Any = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(maker(table).values(name=name, seq=0).on_conflict_do_nothing())
        query = query.with_for_update()
    return int(session.scalar(query) or 0)


def _advance(
    db: Database, name: str, end: int, chunk: int, work: Any, limit: int | None = None
) -> int:
    """Run ``work(session, low, high)`` over the rows after the cursor up to ``end``, chunk
    by chunk (each a transaction moving the cursor); returns the rows' seq span covered."""
    done = 0
    while limit is None or done < limit:
        with db.write() as session:
            low = cursor(session, name, lock=True)
            if low >= end:
                return done
            high = min(low + chunk, end)
            work(session, low, high)
            session.execute(
                update(RequestLogCursor).where(RequestLogCursor.name == name).values(seq=high)
            )
        done += high - low
    return done


# ---- rollups ----------------------------------------------------------------------------


def roll_up(db: Database, *, chunk: int = CHUNK, limit: int | None = None) -> int:
    """Fold the committed logs after the rollup cursor into the rollups."""
    return _advance(db, ROLLUPS, committed_seq(db), chunk, _roll_chunk, limit)


def _aggregate_sql(postgres: bool) -> str:
    if postgres:
        hour = "(floor(extract(epoch FROM created_at) / 3600) * 3600)::bigint"
        bin_ = f"floor(ln(greatest(latency_ms, {_MIN_MS})) * {_SCALE!r})::int"
    else:
        hour = "(CAST(strftime('%s', created_at) AS INTEGER) / 3600 * 3600)"
        bin_ = f"CAST(floor(ln(max(latency_ms, {_MIN_MS})) * {_SCALE!r}) AS INTEGER)"
    return (
        f"SELECT project_id, prompt_slug, environment, coalesce(prompt_version, 0), {hour},"
        f" {bin_}, count(*), sum(CASE WHEN status = 'error' THEN 1 ELSE 0 END),"
        " coalesce(sum(input_tokens), 0), coalesce(sum(output_tokens), 0),"
        " coalesce(sum(cost_usd), 0), min(latency_ms), max(latency_ms)"
        " FROM request_logs WHERE seq > :low AND seq <= :high AND prompt_slug IS NOT NULL"
        " GROUP BY 1, 2, 3, 4, 5, 6"
    )


def _roll_chunk(session: Session, low: int, high: int) -> None:
    """The chunk's rows as the SQL groups them (per hour and latency bin), summed per hour
    in place, then the hours per day: one small update per group, no object per group."""
    postgres = session.get_bind().dialect.name == "postgresql"
    hours: dict[tuple[Any, ...], Summary] = {}
    rows = session.execute(text(_aggregate_sql(postgres)), {"low": low, "high": high}).fetchall()
    for project, slug, env, version, hour, index, n, errors, t_in, t_out, cost, lo, hi in rows:
        key = (project, slug, env, HOUR, int(hour), int(version))
        summary = hours.get(key)
        if summary is None:
            summary = hours[key] = Summary(values=None)
        n = int(n)
        summary.requests += n
        summary.errors += int(errors)
        summary.input_tokens += int(t_in)
        summary.output_tokens += int(t_out)
        summary.cost_usd += float(cost)
        if lo < summary.latency_min:
            summary.latency_min = float(lo)
        if hi > summary.latency_max:
            summary.latency_max = float(hi)
        bins = summary.bins
        index = int(index)
        bins[index] = bins.get(index, 0) + n
    groups = dict(hours)
    for (project, slug, env, _, hour, version), summary in hours.items():
        key = (project, slug, env, DAY, hour // DAY * DAY, version)
        groups.setdefault(key, Summary(values=None)).add_summary(summary)
    if groups:
        _merge(session, groups)


_KEY = ("project_id", "prompt_slug", "environment", "span", "bucket", "prompt_version")


def _merge(session: Session, groups: dict[tuple[Any, ...], Summary]) -> None:
    existing: dict[tuple[Any, ...], Summary] = {}
    rollup = RequestLogRollup
    for span in (HOUR, DAY):
        keys = [key for key in groups if key[3] == span]
        buckets = sorted({key[4] for key in keys})
        for start in range(0, len(buckets), 1000):  # the rows of the chunk's buckets
            query = select(rollup).where(
                rollup.project_id.in_({key[0] for key in keys}),
                rollup.prompt_slug.in_({key[1] for key in keys}),
                rollup.environment.in_({key[2] for key in keys}),
                rollup.span == span,
                rollup.bucket.in_(buckets[start : start + 1000]),
            )
            for row in session.scalars(query):
                key = tuple(getattr(row, name) for name in _KEY)
                if key in groups:
                    existing[key] = Summary.of_rollup(row)
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    for key, summary in groups.items():
        old = existing.get(key)
        if old is not None:
            old.add_summary(summary)
            summary = old
        values = {**dict(zip(_KEY, key, strict=True)), **summary.row()}
        (updates if old is not None else inserts).append(values)
    if inserts:
        session.execute(insert(RequestLogRollup), inserts)
    if updates:
        session.execute(update(RequestLogRollup), updates)


# ---- search (PostgreSQL) ----------------------------------------------------------------

SEARCH_TEXT = "request::text || ' ' || coalesce(response::text, '')"


def fill_search(db: Database, *, chunk: int = CHUNK, limit: int | None = None) -> int:
    """Copy the committed logs' text after the search cursor (PostgreSQL; else no-op)."""
    if db.is_sqlite:
        return 0
    return _advance(db, SEARCH, committed_seq(db), chunk, _search_chunk, limit)


def _search_chunk(session: Session, low: int, high: int) -> None:
    session.execute(
        text(
            "INSERT INTO request_log_search (seq, project_id, received_at, body)"
            f" SELECT seq, project_id, received_at, {SEARCH_TEXT} FROM request_logs"
            " WHERE seq > :low AND seq <= :high ON CONFLICT DO NOTHING"
        ),
        {"low": low, "high": high},
    )


def search_cursor(session: Session) -> int:
    return cursor(session, SEARCH)
