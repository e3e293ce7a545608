"""drop the trigram index on request-log text (PostgreSQL)

Migration 0008's pg_trgm GIN index over each record's request and response JSON text (about
a thousand trigrams a record) cut PostgreSQL ingestion about five-fold in
``bench/log_ingest`` (from ~11,000 to ~2,200 records/s), against the ingestion bar. Until a
cheaper text index lands (e.g. full-text search over a bounded excerpt), ``q`` is applied
within the other filters by scanning in newest-first order.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""

from __future__ import annotations

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_request_logs_text_trgm")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_request_logs_text_trgm ON request_logs USING gin"
            " ((request::text || ' ' || coalesce(response::text, '')) gin_trgm_ops)"
        )
