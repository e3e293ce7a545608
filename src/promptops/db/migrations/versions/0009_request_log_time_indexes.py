"""time-range indexes for request-log filters and prompt metrics on PostgreSQL

``GET /v1/logs?since=&until=`` without a narrower filter walked the newest-first index back
to the range; ``(project_id, environment, created_at)`` reaches it directly (the planner
then sorts the range's rows by ``seq``). ``GET /v1/prompts/{slug}/metrics`` reads a
prompt's rows in a time range: ``(project_id, prompt_slug, environment, created_at)``
including every column it aggregates, so it is an index-only scan. SQLite is unchanged
(each index costs ingestion CPU there, in the server's process).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
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
    op.execute("DROP INDEX IF EXISTS ix_request_logs_metrics")
    op.execute("DROP INDEX IF EXISTS ix_request_logs_project_env_created")
