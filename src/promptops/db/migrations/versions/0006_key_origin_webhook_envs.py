"""who stands behind a key, and which environments a webhook endpoint listens to

``api_keys.origin_user_id``: the person a key acts for in approvals (the user who created
it, or the origin of the key that created it); NULL when no person is behind it.
``api_keys.created_by_key_id``: the key that created this key, if one did.
``webhook_endpoints.environments``: the environments whose events the endpoint receives;
existing endpoints listened to every environment and keep doing so.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ALL = '["dev", "staging", "production"]'


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("origin_user_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("created_by_key_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_api_keys_origin_user_id_users"),
            "users",
            ["origin_user_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.add_column(
            sa.Column(
                "environments", sa.JSON(), nullable=False, server_default=sa.text(f"'{_ALL}'")
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("webhook_endpoints") as batch:
        batch.drop_column("environments")
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_constraint(op.f("fk_api_keys_origin_user_id_users"), type_="foreignkey")
        batch.drop_column("created_by_key_id")
        batch.drop_column("origin_user_id")
