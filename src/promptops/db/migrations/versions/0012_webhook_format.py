"""webhook endpoints choose their format: Standard Webhooks (default) or PromptLayer's

``webhook_endpoints.format``: ``standard`` (the Standard Webhooks envelope and signature
headers) or ``promptlayer`` (PromptLayer's ``{event_type, details, timestamp, ...}`` body and
its ``X-PromptLayer-Signature`` header), so handlers written for PromptLayer keep working.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column("format", sa.String(16), nullable=False, server_default="standard")
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("format")
