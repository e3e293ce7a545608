"""indexes for the request-log filters on PostgreSQL

``GET /v1/logs`` filters by provider and model (b-trees beside the slug one, each ending in
``seq`` for the keyset order), by metadata ``key=value`` (a GIN ``jsonb_path_ops`` index on
``metadata::jsonb``, serving ``@>``) and by text in the request or response (a trigram GIN
index on their JSON text, when the ``pg_trgm`` extension can be created; without it the
search still works, by scanning). All on the partitioned table, so every partition has them.
SQLite keeps its table as it is: its filters scan the project's rows in order.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

from __future__ import annotations

import logging

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

log = logging.getLogger("promptops.db")

_SEARCH = "(request::text || ' ' || coalesce(response::text, ''))"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
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
    savepoint = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except Exception:  # no permission: search scans instead
        savepoint.rollback()
        log.warning("pg_trgm unavailable: log text search will scan (no trigram index)")
        return
    savepoint.commit()
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_logs_text_trgm"
        f" ON request_logs USING gin ({_SEARCH} gin_trgm_ops)"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in (
        "ix_request_logs_text_trgm",
        "ix_request_logs_metadata",
        "ix_request_logs_project_env_model_seq",
        "ix_request_logs_project_env_provider_seq",
    ):
        op.execute(f"DROP INDEX IF EXISTS {name}")
