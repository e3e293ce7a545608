"""merge the request-log, users/approvals and webhooks branches

Revision ID: 0005
Revises: 0002_request_logs, 0003, 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

revision = "0005"
down_revision = ("0002_request_logs", "0003", "0004")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
