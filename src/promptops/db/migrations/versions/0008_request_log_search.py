"""indexes for the request-log filters on PostgreSQL

``GET /v1/logs`` filters by provider and model (b-trees beside the slug one, each ending in
``seq`` for the keyset order), by metadata ``key=value`` (a GIN ``jsonb_path_ops`` index on
``metadata::jsonb``, serving ``@>``) and by time range (``(project_id, environment,
created_at)``). ``GET /v1/prompts/{slug}/metrics`` reads a prompt's rows in a time range:
``(project_id, prompt_slug, environment, created_at)`` including every column it aggregates,
so it is an index-only scan. All on the partitioned table, so every partition has them.
Text search (``q``) has no index: a trigram GIN index over each record's request and
response text cut ingestion about five-fold in ``bench/log_ingest``, so ``q`` scans within
the other filters until a cheaper text index lands. SQLite keeps its table as it is (each
index costs ingestion CPU there, in the server's process).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_logs_project_env_provider_seq"
        " ON request_logs (project_id, environment, provider, seq)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_logs_project_env_model_seq"
        " ON request_logs (project_id, environment, model, seq)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_logs_metadata"
        " ON request_logs USING gin ((metadata::jsonb) jsonb_path_ops)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_logs_project_env_created"
        " ON request_logs (project_id, environment, created_at)"
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_logs_metrics"
        " ON request_logs (project_id, prompt_slug, environment, created_at)"
        " INCLUDE (prompt_version, status, latency_ms, input_tokens, output_tokens, cost_usd)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in (
        "ix_request_logs_metrics",
        "ix_request_logs_project_env_created",
        "ix_request_logs_metadata",
        "ix_request_logs_project_env_model_seq",
        "ix_request_logs_project_env_provider_seq",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
