"""Bulk writes of request-log rows on the driver connection of the caller's transaction.

Per batch, one statement does the work: no ORM objects and no SQLAlchemy parameter binding
per row (which cost about half of the server's CPU per record before):

- **SQLite**: ``executemany`` of ``INSERT ... ON CONFLICT (project_id, id) DO NOTHING`` on the
  ``sqlite3`` connection; the driver sums the rows each execution inserted.
- **PostgreSQL**: ``COPY`` (psycopg 3 ``cursor.copy``) into a temporary staging table of the
  session (emptied at commit), then one statement that inserts the batch's ids into
  ``request_log_ids`` (``ON CONFLICT DO NOTHING``) and the rows of the ids that were new
  into ``request_logs``; its rowcount is the number of new rows. The batch's first
  statement also takes the shared advisory lock :data:`LOCK_KEY` (no extra round trip).

Both run inside the caller's transaction, so "all or nothing, acknowledged after the commit"
holds exactly as with the ORM, and so does idempotency, also between racing copies: a
unique ``(project_id, id)`` decides, on SQLite the table's own, on PostgreSQL (whose
partitioned table cannot have one) that of ``request_log_ids``, so batches of distinct ids
are stored in parallel. Rows are lists in
:data:`COLUMNS` order; datetimes are aware UTC and JSON columns are text already encoded
(and checked) by the caller.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["COLUMNS", "LOCK_KEY", "insert_rows"]

# Held shared by every batch on PostgreSQL, to its commit: the worker's passes over the logs
# take it exclusively for an instant to learn which seq values are final
# (``promptops.domain.log_rollups.committed_seq``). Shared holders never wait for each other.
LOCK_KEY = 0x706F6C6F6773

COLUMNS: tuple[str, ...] = (
    "id",
    "project_id",
    "environment",
    "actor",
    "received_at",
    "created_at",
    "provider",
    "model",
    "prompt_slug",
    "prompt_version",
    "status",
    "error",
    "latency_ms",
    "input_tokens",
    "output_tokens",
    "cost_usd",
    "request",
    "response",
    "metadata",
    "tags",
)
_JSON = frozenset({"request", "response", "metadata", "tags"})
_TIMES = (COLUMNS.index("received_at"), COLUMNS.index("created_at"))
assert _TIMES[1] == _TIMES[0] + 1
_COLUMN_LIST = ", ".join(f'"{name}"' for name in COLUMNS)

_SQLITE_INSERT = (
    f"INSERT INTO request_logs ({_COLUMN_LIST}) VALUES ({', '.join('?' for _ in COLUMNS)})"
    " ON CONFLICT (project_id, id) DO NOTHING"
)
_PG_STAGE = "request_logs_in"
_PG_CREATE_STAGE = (
    f"CREATE TEMPORARY TABLE IF NOT EXISTS {_PG_STAGE} ("
    + ", ".join(
        f'"{name}" '
        + (
            "text"
            if name in _JSON
            else "timestamptz"
            if name.endswith("_at")
            else "double precision"
            if name in ("latency_ms", "cost_usd")
            else "integer"
            if name in ("prompt_version", "input_tokens", "output_tokens")
            else "text"
        )
        for name in COLUMNS
    )
    + ") ON COMMIT DELETE ROWS"
)
_PG_BEGIN = f"SELECT pg_advisory_xact_lock_shared({LOCK_KEY}); {_PG_CREATE_STAGE}"
_PG_COPY = f"COPY {_PG_STAGE} ({_COLUMN_LIST}) FROM STDIN"
# The table is partitioned (migration 0007), so (project_id, id) cannot be unique there:
# request_log_ids (migration 0010) holds it. The batch's ids go there first, ON CONFLICT DO
# NOTHING, in id order (two batches sharing ids wait for each other in the same order, so
# never in a cycle); a copy racing an uncommitted one waits for its commit and then skips
# it. Only the rows whose id was new are stored, in the same statement.
_PG_INSERT = (
    "WITH new AS (INSERT INTO request_log_ids (project_id, id, received_at)"
    f" SELECT project_id, id, received_at FROM {_PG_STAGE} ORDER BY id"
    " ON CONFLICT DO NOTHING RETURNING id)"
    f" INSERT INTO request_logs ({_COLUMN_LIST}) SELECT "
    + ", ".join(f's."{name}"::json' if name in _JSON else f's."{name}"' for name in COLUMNS)
    + f" FROM {_PG_STAGE} s JOIN new ON new.id = s.id"
)


def insert_rows(session: Session, rows: Sequence[list[Any]]) -> int:
    """Insert ``rows`` (ids distinct within the call, all of one project) unless their id
    is stored already; returns how many were new. The rows (lists) may be changed in place
    into the driver's values."""
    if not rows:
        return 0
    connection = session.connection()
    dialect = connection.dialect.name
    driver: Any = connection.connection.driver_connection
    if dialect == "sqlite":
        return _sqlite(driver, rows)
    if dialect == "postgresql":
        return _postgres(driver, rows)
    raise RuntimeError(f"request logs are not supported on {dialect}")  # pragma: no cover


def _sqlite(driver: Any, rows: Sequence[list[Any]]) -> int:
    received, created = _TIMES
    texts: dict[datetime, str] = {}  # a batch's rows share their received_at
    for row in rows:  # datetimes as SQLAlchemy stores them there, in place
        value = row[received]
        stored = texts.get(value)
        if stored is None:
            stored = texts[value] = _sqlite_time(value)
        row[received] = stored
        value = row[created]
        row[created] = (
            value.isoformat(sep=" ", timespec="microseconds")[:26]
            if value.tzinfo is UTC
            else _sqlite_time(value)
        )
    cursor = driver.cursor()
    try:
        cursor.executemany(_SQLITE_INSERT, rows)
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _sqlite_time(value: datetime) -> str:
    """As SQLAlchemy stores datetimes on SQLite: naive UTC, microseconds always."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def _postgres(driver: Any, rows: Sequence[list[Any]]) -> int:
    with driver.cursor() as cursor:
        cursor.execute(_PG_BEGIN)
        with cursor.copy(_PG_COPY) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_PG_INSERT)
        inserted = int(cursor.rowcount)
        cursor.execute(f"DELETE FROM {_PG_STAGE}")  # for a second call before the commit
        return inserted
