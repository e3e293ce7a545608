"""request-log ids in a table of their own on PostgreSQL: idempotency by a unique key

The partitioned ``request_logs`` (migration 0007) cannot have a unique ``(project_id, id)``,
so until now one project's log writes took an advisory lock in turn, and each inserted only
ids not stored yet: correct, but the project's batches were stored one at a time, the
heaviest statement of the write (the row and its indexes) inside the lock.
``request_log_ids`` (not partitioned; primary key ``(project_id, id)``, with the arrival
time for retention) takes the idempotency over: a batch inserts its ids there ``ON
CONFLICT DO NOTHING`` and stores the rows of the ids that were new, in the same statement
and transaction. Racing copies of one id are ordered by the unique index itself (the second
waits for the first's commit, then skips it), so batches of distinct ids are stored in
parallel. Existing ids are copied over. SQLite keeps its one table and unique constraint.

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
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        """
        CREATE TABLE IF NOT EXISTS request_log_ids (
            project_id VARCHAR(32) NOT NULL,
            id VARCHAR(36) NOT NULL,
            received_at TIMESTAMP WITH TIME ZONE NOT NULL,
            CONSTRAINT pk_request_log_ids PRIMARY KEY (project_id, id)
        )
        """
    )
    op.execute(
        "CREATE INDEX IF NOT EXISTS ix_request_log_ids_received_at ON request_log_ids (received_at)"
    )
    op.execute(
        "INSERT INTO request_log_ids (project_id, id, received_at)"
        " SELECT project_id, id, min(received_at) FROM request_logs GROUP BY project_id, id"
        " ON CONFLICT DO NOTHING"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TABLE IF EXISTS request_log_ids")
