"""Request-log storage over time (domain/log_retention.py): monthly partitions on
PostgreSQL created ahead, retention that drops whole partitions there and deletes in bounded
batches on SQLite, idempotency by record id across partitions, and migration 0007 converting
an existing table with its rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import func, select, text

from promptops.db.models import RequestLog
from promptops.db.session import _MIGRATIONS, Database, migrate
from promptops.domain import keys, log_retention, log_rollups, logs, projects
from promptops.domain.access import Actor
from tests.support import PostgresDatabases

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    migrate(database_url)
    database = Database(database_url)
    yield database
    database.dispose()


def key_actor(db: Database) -> Actor:
    admin = Actor(label="test", role="admin")
    with db.write() as session:
        project, _ = projects.create_project(session, admin, name="p", rounds=4)
        issued = keys.create_key(
            session, admin, environment="dev", role="read", project_id=project.id, rounds=4
        )
    return Actor(
        label=issued.record.prefix,
        role="read",
        project_id=project.id,
        environment="dev",
        key_id=issued.record.id,
    )


def record(log_id: str | None = None) -> dict[str, Any]:
    return {
        "id": log_id or str(uuid.uuid4()),
        "provider": "openai",
        "model": "m",
        "request": {"q": 1},
        "status": "ok",
        "latency_ms": 1.0,
    }


def store(db: Database, actor: Actor, received: datetime, *ids: str) -> logs.IngestResult:
    with db.write() as session:
        return logs.ingest(session, actor, [record(i) for i in ids], received_at=received)


def count(db: Database) -> int:
    with db.read() as session:
        return int(session.scalar(select(func.count()).select_from(RequestLog)) or 0)


def month_of_rows(db: Database) -> dict[str, int]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text("SELECT tableoid::regclass::text, count(*) FROM request_logs GROUP BY 1")
        )
        return {name: n for name, n in rows}


def test_partitions_are_created_ahead_by_month(db: Database) -> None:
    if db.is_sqlite:
        assert log_retention.ensure_partitions(db, NOW) == []
        assert log_retention.partitions(db) == []
        return
    current = log_retention.month_start(datetime.now(UTC))
    # The migration created this month's partition and the next ones already.
    assert f"request_logs_p{current:%Y%m}" in log_retention.partitions(db)
    later = NOW + timedelta(days=200)  # 2027-06: three months more
    log_retention.ensure_partitions(db, later)
    names = log_retention.partitions(db)
    for month in ("202706", "202707", "202708"):
        assert f"request_logs_p{month}" in names
    assert names == sorted(names)
    assert log_retention.ensure_partitions(db, later) == []  # idempotent


def test_rows_land_in_their_month_and_ids_stay_unique_across_months(db: Database) -> None:
    actor = key_actor(db)
    if not db.is_sqlite:
        with db.engine.begin() as conn:
            log_retention.create_month_partitions(conn, NOW - timedelta(days=90), NOW)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    assert store(db, actor, NOW - timedelta(days=70), a).accepted == 1
    # The same id arriving months later (a late re-send) is a duplicate, not a new row.
    again = store(db, actor, NOW, a, b)
    assert (again.accepted, again.duplicates) == (1, 1)
    assert count(db) == 2
    if not db.is_sqlite:
        assert month_of_rows(db) == {"request_logs_p202609": 1, "request_logs_p202612": 1}


def test_retention_drops_whole_partitions_on_postgres(db: Database) -> None:
    if db.is_sqlite:
        pytest.skip("SQLite keeps one table (the next test)")
    actor = key_actor(db)
    with db.engine.begin() as conn:
        log_retention.create_month_partitions(conn, NOW - timedelta(days=100), NOW)
    dropped = [str(uuid.uuid4()) for _ in range(3)]
    kept = [str(uuid.uuid4()), str(uuid.uuid4())]
    store(db, actor, datetime(2026, 8, 20, tzinfo=UTC), *dropped[:2])
    store(db, actor, datetime(2026, 9, 10, tzinfo=UTC), dropped[2])
    store(db, actor, datetime(2026, 10, 25, tzinfo=UTC), kept[0])
    store(db, actor, NOW, kept[1])
    # 60 days before NOW is 2026-10-03: August and September are wholly older, October
    # straddles the cutoff and stays whole.
    log_rollups.fill_search(db)  # the worker's text copy goes with its rows
    assert log_retention.apply_retention(db, 60, NOW) == 3
    with db.engine.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM request_log_search")) == 2
    names = log_retention.partitions(db)
    assert "request_logs_p202608" not in names and "request_logs_p202609" not in names
    assert "request_logs_p202610" in names
    assert month_of_rows(db) == {"request_logs_p202610": 1, "request_logs_p202612": 1}
    assert log_retention.apply_retention(db, 60, NOW) == 0
    # The idempotency table forgets the ids of the rows dropped, and only those: a kept
    # record re-sent is still not stored twice.
    with db.engine.connect() as conn:
        ids = set(conn.scalars(text("SELECT id FROM request_log_ids")))
    assert ids == set(kept)
    assert store(db, actor, NOW, kept[0]).accepted == 0


def test_retention_deletes_in_bounded_batches(db: Database) -> None:
    actor = key_actor(db)
    # On PostgreSQL no month partition covers 2020: those rows go to the default partition,
    # which retention trims in batches (it never drops it).
    store(db, actor, datetime(2020, 1, 15, tzinfo=UTC), *[str(uuid.uuid4()) for _ in range(10)])
    store(db, actor, NOW - timedelta(days=10), *[str(uuid.uuid4()) for _ in range(2)])
    if not db.is_sqlite:
        assert month_of_rows(db).get("request_logs_default", 0) >= 10
    assert log_retention.apply_retention(db, 30, NOW, batch=3) == 10
    assert count(db) == 2
    with db.read() as session:
        oldest = session.scalar(select(func.min(RequestLog.received_at)))
    assert oldest is not None and oldest >= NOW - timedelta(days=30)


def test_migration_0007_converts_an_existing_table(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite keeps its table")
    fresh = PostgresDatabases()  # a database of its own, at migration 0006
    try:
        convert(fresh.url)
    finally:
        fresh.drop()


def convert(database_url: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url)
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "0006")
    db = Database(database_url)
    try:
        actor = key_actor(db)
        with db.engine.begin() as conn:
            for i, received in enumerate(["2026-05-03", "2026-05-20", "2026-11-30"]):
                conn.execute(
                    text(
                        "INSERT INTO request_logs (id, project_id, environment, received_at,"
                        " created_at, provider, model, status, latency_ms, request)"
                        " VALUES (:id, :p, 'dev', :r, :r, 'openai', 'm', 'ok', :i, '{}')"
                    ),
                    {
                        "id": f"00000000-0000-4000-8000-00000000000{i}",
                        "p": actor.project_id,
                        "r": received,
                        "i": i,
                    },
                )
            before = list(conn.execute(text("SELECT seq, id FROM request_logs ORDER BY seq")))
            kind = conn.scalar(text("SELECT relkind FROM pg_class WHERE relname = 'request_logs'"))
            assert kind == "r"
        migrate(database_url)
        with db.engine.connect() as conn:
            after = list(conn.execute(text("SELECT seq, id FROM request_logs ORDER BY seq")))
            kind = conn.scalar(text("SELECT relkind FROM pg_class WHERE relname = 'request_logs'"))
        assert kind == "p" and after == before
        assert month_of_rows(db) == {"request_logs_p202605": 2, "request_logs_p202611": 1}
        # New rows continue the sequence; an old id is still a duplicate.
        result = store(db, actor, datetime.now(UTC), before[0][1], str(uuid.uuid4()))
        assert (result.accepted, result.duplicates) == (1, 1)
        with db.engine.connect() as conn:
            assert conn.scalar(text("SELECT max(seq) FROM request_logs")) > before[-1][0]
    finally:
        db.dispose()


def test_the_worker_keeps_partitions_ahead_and_applies_the_retention_setting(
    db: Database,
) -> None:
    from promptops.server.config import Settings
    from promptops.worker.runner import Worker

    actor = key_actor(db)
    now = datetime.now(UTC)
    store(db, actor, now - timedelta(days=400), str(uuid.uuid4()))  # default partition on PG
    store(db, actor, now, str(uuid.uuid4()))
    kept = Worker(db, Settings(database_url=db.url, log_retention_days=None))
    kept._maintain_logs()
    assert count(db) == 2
    Worker(db, Settings(database_url=db.url, log_retention_days=30))._maintain_logs()
    assert count(db) == 1
    if not db.is_sqlite:
        ahead = log_retention.month_start(now)
        for _ in range(log_retention.MONTHS_AHEAD):
            ahead = log_retention.month_start(ahead + timedelta(days=32))
        assert f"request_logs_p{ahead:%Y%m}" in log_retention.partitions(db)
