"""request-log rollups, search text and the time-range index

- ``request_log_rollups`` (both databases): per project, prompt, environment, version and
  UTC hour or day of ``created_at`` (``span`` 3600 or 86400 seconds, ``bucket`` its start
  in epoch seconds): requests, errors, tokens, cost, latency min/max and a latency
  histogram (``promptops.domain.log_rollups``), maintained by the worker.
- ``request_log_cursors`` (both): how far (``seq``) each worker pass over the logs got.
- ``request_log_search`` (PostgreSQL): each log's request and response text, copied by the
  worker in batches, with a trigram GIN index (``pg_trgm``) serving ``q``; ingestion never
  writes it, so it costs ingestion nothing.
- On PostgreSQL ``(project_id, environment, created_at)`` becomes ``(project_id,
  environment, created_at, seq)``: the order of a time-range page.

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_log_rollups",
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("prompt_slug", sa.String(100), nullable=False),
        sa.Column("environment", sa.String(16), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("prompt_version", sa.Integer(), nullable=False),
        sa.Column("requests", sa.BigInteger(), nullable=False),
        sa.Column("errors", sa.BigInteger(), nullable=False),
        sa.Column("input_tokens", sa.BigInteger(), nullable=False),
        sa.Column("output_tokens", sa.BigInteger(), nullable=False),
        sa.Column("cost_usd", sa.Float(), nullable=False),
        sa.Column("latency_min", sa.Float(), nullable=False),
        sa.Column("latency_max", sa.Float(), nullable=False),
        sa.Column("histogram", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint(
            "project_id",
            "prompt_slug",
            "environment",
            "span",
            "bucket",
            "prompt_version",
            name=op.f("pk_request_log_rollups"),
        ),
    )
    op.create_table(
        "request_log_cursors",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_request_log_cursors")),
    )
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS request_log_search (
            seq BIGINT NOT NULL,
            project_id VARCHAR(32) NOT NULL,
            received_at TIMESTAMP WITH TIME ZONE NOT NULL,
            body TEXT NOT NULL,
            CONSTRAINT pk_request_log_search PRIMARY KEY (seq)
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_log_search_body"
        " ON request_log_search USING gin (body gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_log_search_received_at"
        " ON request_log_search (received_at)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_logs_project_env_created_seq"
        " ON request_logs (project_id, environment, created_at, seq)"
    )
    op.execute("DROP INDEX IF EXISTS ix_request_logs_project_env_created")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_request_logs_project_env_created"
            " ON request_logs (project_id, environment, created_at)"
        )
        op.execute("DROP INDEX IF EXISTS ix_request_logs_project_env_created_seq")
        op.execute("DROP TABLE IF EXISTS request_log_search")
    op.drop_table("request_log_cursors")
    op.drop_table("request_log_rollups")
