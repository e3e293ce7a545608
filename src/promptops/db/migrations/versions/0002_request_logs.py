"""request logs: one row per LLM call logged by the SDK's run()

Revision ID: 0002_request_logs
Revises: 0001
Create Date: 2026-11-24 13:10:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_request_logs"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "request_logs",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("project_id", sa.String(length=32), nullable=False),
        sa.Column("environment", sa.String(length=16), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("provider", sa.String(length=50), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("prompt_slug", sa.String(length=100), nullable=True),
        sa.Column("prompt_version", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("input_tokens", sa.Integer(), nullable=True),
        sa.Column("output_tokens", sa.Integer(), nullable=True),
        sa.Column("cost_usd", sa.Float(), nullable=True),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("response", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("metadata", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("tags", sa.JSON(none_as_null=True), nullable=True),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_request_logs")),
        sa.UniqueConstraint("project_id", "id", name=op.f("uq_request_logs_project_id")),
    )
    with op.batch_alter_table("request_logs", schema=None) as batch_op:
        batch_op.create_index(
            "ix_request_logs_project_env_seq", ["project_id", "environment", "seq"], unique=False
        )
        batch_op.create_index(
            "ix_request_logs_project_env_slug_seq",
            ["project_id", "environment", "prompt_slug", "seq"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("request_logs", schema=None) as batch_op:
        batch_op.drop_index("ix_request_logs_project_env_slug_seq")
        batch_op.drop_index("ix_request_logs_project_env_seq")
    op.drop_table("request_logs")
