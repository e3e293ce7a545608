"""prompt types and chat content: messages, text, params, inputs, tools, response format

``prompts.type`` is ``chat`` (every existing prompt) or ``text``. A version's content moves
to ``messages`` (chat) or ``text`` (text); ``params``, ``inputs``, ``tools``,
``tool_choice`` and ``response_format`` join it; ``version_snippets`` records the text
prompts each version includes (``{{> slug}}``), so a snippet's change finds its dependents. Existing versions are migrated, not
rewritten: each gets the messages its ``system_prompt`` and ``user_template`` meant (an
optional system message, then the user message); its number, author, dates and the two
older columns stay as they were, so it serves exactly what it served before.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("prompts") as batch:
        batch.add_column(sa.Column("type", sa.String(8), nullable=False, server_default="chat"))
    with op.batch_alter_table("prompt_versions") as batch:
        batch.add_column(sa.Column("messages", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("text", sa.Text(), nullable=True))
        batch.add_column(sa.Column("params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("inputs", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("tools", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("tool_choice", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("response_format", sa.JSON(), nullable=True))
    op.create_table(
        "version_snippets",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "version_id",
            sa.Integer(),
            sa.ForeignKey(
                "prompt_versions.id",
                ondelete="CASCADE",
                name="fk_version_snippets_version_id_prompt_versions",
            ),
            nullable=False,
        ),
        sa.Column(
            "prompt_id",
            sa.Integer(),
            sa.ForeignKey(
                "prompts.id", ondelete="CASCADE", name="fk_version_snippets_prompt_id_prompts"
            ),
            nullable=False,
        ),
        sa.Column("project_id", sa.String(32), nullable=False),
        sa.Column("snippet_slug", sa.String(100), nullable=False),
        sa.Column("pinned_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_version_snippets"),
        sa.UniqueConstraint(
            "version_id", "snippet_slug", "pinned_version", name="uq_version_snippets_version_id"
        ),
    )
    op.create_index(
        "ix_version_snippets_project_slug", "version_snippets", ["project_id", "snippet_slug"]
    )
    bind = op.get_bind()
    versions = sa.table(
        "prompt_versions",
        sa.column("id", sa.Integer),
        sa.column("system_prompt", sa.Text),
        sa.column("user_template", sa.Text),
        sa.column("messages", sa.JSON),
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(versions.c.id, versions.c.system_prompt, versions.c.user_template)
            .where(versions.c.id > last, versions.c.messages.is_(None))
            .order_by(versions.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        updates = []
        for row in rows:
            system = [{"role": "system", "content": row.system_prompt}] if row.system_prompt else []
            updates.append(
                {"vid": row.id, "m": [*system, {"role": "user", "content": row.user_template}]}
            )
        bind.execute(
            versions.update()
            .where(versions.c.id == sa.bindparam("vid", type_=sa.Integer))
            .values(messages=sa.bindparam("m", type_=sa.JSON)),
            updates,
        )
        last = rows[-1].id


def downgrade() -> None:
    op.drop_index("ix_version_snippets_project_slug", table_name="version_snippets")
    op.drop_table("version_snippets")
    with op.batch_alter_table("prompt_versions") as batch:
        for name in (
            "response_format",
            "tool_choice",
            "tools",
            "inputs",
            "params",
            "text",
            "messages",
        ):
            batch.drop_column(name)
    with op.batch_alter_table("prompts") as batch:
        batch.drop_column("type")
