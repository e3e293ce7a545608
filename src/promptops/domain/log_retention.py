"""Request-log storage over time: monthly partitions on PostgreSQL, and retention.

On PostgreSQL ``request_logs`` is partitioned by ``received_at`` (native declarative range
partitioning, one partition per calendar month in UTC, named ``request_logs_pYYYYMM``, plus
``request_logs_default`` for rows no month partition covers: never used while the worker
keeps partitions ahead). Migration 0007 converts an existing table. The worker calls
:func:`ensure_partitions` (this month and :data:`MONTHS_AHEAD` more) and
:func:`apply_retention` every hour.

Retention (``PROMPTOPS_LOG_RETENTION_DAYS``, by arrival time ``received_at``): on
PostgreSQL whole month partitions whose every row is older than the cutoff are dropped
(never a mass DELETE; rows of the month that straddles the cutoff stay until its partition
goes); the default partition, normally empty, is trimmed in bounded batches. On SQLite
(one table) rows older than the cutoff are deleted in batches of :data:`DELETE_BATCH`, each
its own short write transaction, so ingestion is never blocked for long.

A partitioned table's unique keys must include the partition key, so idempotency by
``(project_id, id)`` cannot be a unique constraint there: ``request_log_ids`` (migration
0010, not partitioned) holds every stored id with its arrival time (``domain/log_store.py``
inserts there first); retention deletes, in batches, the ids of the rows it removed, and
their search text (``request_log_search``). Metric rollups are kept: they hold no
request or response content.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from promptops.db.session import Database

__all__ = [
    "DELETE_BATCH",
    "MONTHS_AHEAD",
    "apply_retention",
    "create_month_partitions",
    "ensure_partitions",
    "month_start",
    "partitions",
]

MONTHS_AHEAD = 2
DELETE_BATCH = 5000
_NAME = re.compile(r"^request_logs_p(\d{4})(\d{2})$")


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def create_month_partitions(connection: Any, first: datetime, last: datetime) -> list[str]:
    """Create (if missing) the month partitions from ``first``'s month to ``last``'s month,
    on a SQLAlchemy connection to PostgreSQL. Returns the names created."""
    created: list[str] = []
    existing = set(_names(connection))
    start = month_start(first)
    while start <= last:
        end = _next_month(start)
        name = f"request_logs_p{start:%Y%m}"
        if name not in existing:
            connection.execute(
                text(
                    f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF request_logs"
                    f" FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
                )
            )
            created.append(name)
        start = end
    return created


def ensure_partitions(db: Database, now: datetime | None = None) -> list[str]:
    """This month's partition and :data:`MONTHS_AHEAD` more (PostgreSQL; no-op on SQLite)."""
    if db.is_sqlite:
        return []
    now = now or datetime.now(UTC)
    last = month_start(now)
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    with db.engine.begin() as connection:
        return create_month_partitions(connection, now, last)


def partitions(db: Database) -> list[str]:
    """The month partitions of ``request_logs`` (PostgreSQL), oldest first."""
    if db.is_sqlite:
        return []
    with db.engine.connect() as connection:
        return sorted(_names(connection))


def apply_retention(
    db: Database, days: float, now: datetime | None = None, *, batch: int = DELETE_BATCH
) -> int:
    """Remove logs that arrived more than ``days`` ago; returns the rows removed (deleting
    at most ``batch`` rows per transaction where rows are deleted)."""
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    if db.is_sqlite:
        return _delete_batches(db, "request_logs", cutoff, batch)
    removed = 0
    for name in partitions(db):
        match = _NAME.match(name)
        assert match is not None
        end = _next_month(datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC))
        if end > cutoff:
            break
        with db.engine.begin() as connection:
            removed += int(connection.scalar(text(f"SELECT count(*) FROM {name}")) or 0)
            connection.execute(text(f"ALTER TABLE request_logs DETACH PARTITION {name}"))
            connection.execute(text(f"DROP TABLE {name}"))
    removed += _delete_batches(db, "request_logs_default", cutoff, batch)
    # The ids of the rows gone (request_log_ids, migration 0010: idempotency): those that
    # arrived before both the cutoff and the oldest month still kept.
    remaining = partitions(db)
    bound = cutoff
    if remaining:
        match = _NAME.match(remaining[0])
        assert match is not None
        bound = min(bound, datetime(int(match[1]), int(match[2]), 1, tzinfo=UTC))
    _delete_ids(db, bound, batch)
    return removed


def _delete_ids(db: Database, bound: datetime, batch: int) -> None:
    """Also the search text of those rows (request_log_search, migration 0016)."""
    for statement in (
        text(
            "DELETE FROM request_log_ids WHERE (project_id, id) IN (SELECT project_id, id"
            f" FROM request_log_ids WHERE received_at < :bound LIMIT {int(batch)})"
        ),
        text(
            "DELETE FROM request_log_search WHERE seq IN (SELECT seq"
            f" FROM request_log_search WHERE received_at < :bound LIMIT {int(batch)})"
        ),
    ):
        while True:
            with db.write() as session:
                result: Any = session.execute(statement, {"bound": bound})
                if int(result.rowcount or 0) < batch:
                    break


def _delete_batches(db: Database, table: str, cutoff: datetime, batch: int) -> int:
    removed = 0
    cutoff_value: Any = cutoff.replace(tzinfo=None) if db.is_sqlite else cutoff
    if db.is_sqlite:  # stored as SQLAlchemy writes it (naive UTC text)
        cutoff_value = cutoff_value.isoformat(sep=" ", timespec="microseconds")
    statement = text(
        f"DELETE FROM {table} WHERE seq IN (SELECT seq FROM {table}"
        f" WHERE received_at < :cutoff ORDER BY seq LIMIT {int(batch)})"
    )
    while True:
        with db.write() as session:
            result: Any = session.execute(statement, {"cutoff": cutoff_value})
            count = int(result.rowcount or 0)
        removed += count
        if count < batch:
            return removed


def _names(connection: Any) -> list[str]:
    rows = connection.execute(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'request_logs'"
            " AND p.relnamespace = to_regnamespace(current_schema())"
        )
    )
    return [name for (name,) in rows if _NAME.match(name)]
