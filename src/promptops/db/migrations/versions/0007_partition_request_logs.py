"""request logs partitioned by month on PostgreSQL

``request_logs`` becomes a table partitioned by range of ``received_at`` (one partition per
UTC month, ``request_logs_pYYYYMM``, and ``request_logs_default``), its rows copied over.
The primary key of a partitioned table must include the partition key, so it becomes
``(seq, received_at)`` and the unique ``(project_id, id)`` becomes a plain index (idempotency
is kept by ``promptops.domain.log_store``; see ``promptops.domain.log_retention``). SQLite
keeps its one table: nothing changes there.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_COLUMNS = (
    "seq, id, project_id, environment, actor, received_at, created_at, provider, model,"
    " prompt_slug, prompt_version, status, error, latency_ms, input_tokens, output_tokens,"
    " cost_usd, request, response, metadata, tags"
)


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    kind = bind.scalar(sa.text("SELECT relkind FROM pg_class WHERE oid = 'request_logs'::regclass"))
    if kind == "p":
        return
    from promptops.domain.log_retention import MONTHS_AHEAD, create_month_partitions

    op.execute("ALTER TABLE request_logs RENAME TO request_logs_unpartitioned")
    op.execute("ALTER SEQUENCE request_logs_seq_seq OWNED BY NONE")
    for old in ("pk_request_logs", "uq_request_logs_project_id"):
        op.execute(f"ALTER TABLE request_logs_unpartitioned RENAME CONSTRAINT {old} TO {old}_old")
    for old in ("ix_request_logs_project_env_seq", "ix_request_logs_project_env_slug_seq"):
        op.execute(f"ALTER INDEX {old} RENAME TO {old}_old")
    op.execute(
        """
        CREATE TABLE request_logs (
            seq BIGINT NOT NULL DEFAULT nextval('request_logs_seq_seq'),
            id VARCHAR(36) NOT NULL,
            project_id VARCHAR(32) NOT NULL,
            environment VARCHAR(16) NOT NULL,
            actor VARCHAR(200),
            received_at TIMESTAMP WITH TIME ZONE NOT NULL,
            created_at TIMESTAMP WITH TIME ZONE NOT NULL,
            provider VARCHAR(50) NOT NULL,
            model VARCHAR(200) NOT NULL,
            prompt_slug VARCHAR(100),
            prompt_version INTEGER,
            status VARCHAR(16) NOT NULL,
            error TEXT,
            latency_ms FLOAT NOT NULL,
            input_tokens INTEGER,
            output_tokens INTEGER,
            cost_usd FLOAT,
            request JSON NOT NULL,
            response JSON,
            metadata JSON,
            tags JSON,
            CONSTRAINT pk_request_logs PRIMARY KEY (seq, received_at)
        ) PARTITION BY RANGE (received_at)
        """
    )
    op.execute("ALTER SEQUENCE request_logs_seq_seq OWNED BY request_logs.seq")
    op.execute("CREATE INDEX ix_request_logs_project_id ON request_logs (project_id, id)")
    op.execute(
        "CREATE INDEX ix_request_logs_project_env_seq"
        " ON request_logs (project_id, environment, seq)"
    )
    op.execute(
        "CREATE INDEX ix_request_logs_project_env_slug_seq"
        " ON request_logs (project_id, environment, prompt_slug, seq)"
    )
    now = datetime.now(UTC)
    first = bind.scalar(sa.text("SELECT min(received_at) FROM request_logs_unpartitioned")) or now
    last = datetime(
        now.year + (now.month + MONTHS_AHEAD - 1) // 12,
        (now.month + MONTHS_AHEAD - 1) % 12 + 1,
        1,
        tzinfo=UTC,
    )
    create_month_partitions(bind, min(first, now), last)
    op.execute("CREATE TABLE request_logs_default PARTITION OF request_logs DEFAULT")
    op.execute(
        f"INSERT INTO request_logs ({_COLUMNS}) SELECT {_COLUMNS} FROM request_logs_unpartitioned"
    )
    op.execute("DROP TABLE request_logs_unpartitioned")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE request_logs RENAME TO request_logs_partitioned")
    op.execute("ALTER SEQUENCE request_logs_seq_seq OWNED BY NONE")
    op.execute("ALTER TABLE request_logs_partitioned RENAME CONSTRAINT pk_request_logs TO pk_old")
    for old in (
        "ix_request_logs_project_env_seq",
        "ix_request_logs_project_env_slug_seq",
        "ix_request_logs_project_id",
    ):
        op.execute(f"ALTER INDEX {old} RENAME TO {old}_old")
    op.execute("CREATE TABLE request_logs (LIKE request_logs_partitioned INCLUDING DEFAULTS)")
    op.execute("ALTER TABLE request_logs ADD CONSTRAINT pk_request_logs PRIMARY KEY (seq)")
    op.execute(
        f"INSERT INTO request_logs ({_COLUMNS}) SELECT DISTINCT ON (project_id, id)"
        f" {_COLUMNS} FROM request_logs_partitioned ORDER BY project_id, id, seq"
    )
    op.execute(
        "ALTER TABLE request_logs ADD CONSTRAINT uq_request_logs_project_id UNIQUE (project_id, id)"
    )
    op.execute(
        "CREATE INDEX ix_request_logs_project_env_seq"
        " ON request_logs (project_id, environment, seq)"
    )
    op.execute(
        "CREATE INDEX ix_request_logs_project_env_slug_seq"
        " ON request_logs (project_id, environment, prompt_slug, seq)"
    )
    op.execute("ALTER SEQUENCE request_logs_seq_seq OWNED BY request_logs.seq")
    op.execute("DROP TABLE request_logs_partitioned")
