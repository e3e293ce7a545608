"""agent run callbacks: a delivery job is for a webhook endpoint or for a run's callback_url

A run's ``callback_url`` gets the ``agent_run_completed`` event as a webhook endpoint does,
through the same durable delivery jobs (retries, leases, the attempt log): such a job has
``run_id`` set and no ``endpoint_id``.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.alter_column("endpoint_id", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("run_id", sa.String(40), nullable=True))
        batch.create_foreign_key(
            op.f("fk_webhook_deliveries_run_id_agent_runs"),
            "agent_runs",
            ["run_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch.create_index(op.f("ix_webhook_deliveries_run_id"), ["run_id"])


def downgrade() -> None:
    op.execute("DELETE FROM webhook_deliveries WHERE endpoint_id IS NULL")
    with op.batch_alter_table("webhook_deliveries") as batch:
        batch.drop_index(op.f("ix_webhook_deliveries_run_id"))
        batch.drop_constraint(op.f("fk_webhook_deliveries_run_id_agent_runs"), type_="foreignkey")
        batch.drop_column("run_id")
        batch.alter_column("endpoint_id", existing_type=sa.String(32), nullable=False)
