"""provider connections and project secrets, sealed at rest

``provider_connections`` (a project's OpenAI, Anthropic, Gemini or OpenAI-compatible
connection) and ``project_secrets`` (values for agents' http steps) keep their secret
sealed with the server's key (``promptops.domain.secretbox``: AES-256-GCM, key from
``PROMPTOPS_SECRET_KEY``) and its last four characters for display.

Revision ID: 0014
Revises: 0012
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None


def _table(name: str, *columns: sa.Column) -> None:
    op.create_table(
        name,
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column(
            "project_id",
            sa.String(32),
            nullable=False,
        ),
        sa.Column("name", sa.String(64), nullable=False),
        *columns,
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f(f"fk_{name}_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{name}")),
        sa.UniqueConstraint("project_id", "name", name=op.f(f"uq_{name}_project_id")),
    )
    op.create_index(op.f(f"ix_{name}_project_id"), name, ["project_id"], unique=False)


def upgrade() -> None:
    _table(
        "provider_connections",
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("base_url", sa.Text(), nullable=True),
        sa.Column("api_key_sealed", sa.Text(), nullable=False),
        sa.Column("api_key_last4", sa.String(8), nullable=False),
    )
    _table(
        "project_secrets",
        sa.Column("value_sealed", sa.Text(), nullable=False),
        sa.Column("value_last4", sa.String(8), nullable=False),
    )
    # Webhook signing secrets are sealed too (longer than the 120 characters of clear ones);
    # the worker seals the ones stored in clear when it starts (it holds the key).
    with op.batch_alter_table("webhook_endpoints") as batch:
        for column in ("secret", "previous_secret"):
            batch.alter_column(column, type_=sa.Text(), existing_type=sa.String(120))


def downgrade() -> None:
    # Sealed secrets do not fit back into 120 characters: endpoints need new secrets after.
    op.drop_table("project_secrets")
    op.drop_table("provider_connections")
