"""Migrations: one head, idempotent, and the migrated schema equals the models."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text

from promptops.db.models import Base
from promptops.db.session import _MIGRATIONS, migrate
from tests.support import PG_ADMIN_URL


def test_one_head() -> None:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    assert len(ScriptDirectory.from_config(cfg).get_heads()) == 1


def test_migrated_schema_matches_models(database_url: str, tmp_path: Path) -> None:
    migrate(database_url)
    migrate(database_url)  # a second run changes nothing and does not fail
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(
                conn, opts={"compare_type": True, "include_object": _not_a_log_partition}
            )
            diff = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    if database_url.startswith("postgresql"):
        # Migration 0007 partitions request_logs: a partitioned table cannot hold the unique
        # (project_id, id) (idempotency: domain/log_store.py), a plain index replaces it.
        expected = {
            ("add_constraint", "uq_request_logs_project_id"),
            ("remove_index", "ix_request_logs_project_id"),
        }
        # Migration 0008: the filters' and the metrics' indexes, PostgreSQL-only.
        expected |= {
            ("remove_index", f"ix_request_logs_{name}")
            for name in (
                "metadata",
                "project_env_provider_seq",
                "project_env_model_seq",
                "metrics",
                "project_env_created_seq",  # migration 0016
            )
        }
        found = {(entry[0], entry[1].name) for entry in diff if isinstance(entry, tuple)}
        assert expected <= found, diff
        diff = [e for e in diff if not (isinstance(e, tuple) and (e[0], e[1].name) in expected)]
    assert diff == []


def _not_a_log_partition(obj: Any, name: str | None, kind: str, reflected: bool, _: Any) -> bool:
    """The month partitions of request_logs (migration 0007) are not models, nor is the
    id table of migration 0010."""
    table = obj if kind == "table" else getattr(obj, "table", None)
    table_name = getattr(table, "name", name) or ""
    # request_log_ids (migration 0010) is PostgreSQL's idempotency table, request_log_search
    # (0016) its text-search copy: no models either.
    return not re.fullmatch(
        r"request_logs_(p\d{6}|default)|request_log_ids|request_log_search", table_name
    )


@pytest.fixture
def empty_database_url(database_url: str) -> Iterator[str]:
    """A database with no schema at all (the session's PostgreSQL one is migrated already)."""
    if not database_url.startswith("postgresql"):
        yield database_url  # a new SQLite file per test
        return
    name = f"promptops_mig_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_0009_migrates_existing_versions_to_messages(empty_database_url: str) -> None:
    """Versions made before messages get the messages their two fields meant; nothing else
    of them changes."""
    database_url = empty_database_url
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    cfg.attributes["configure_logger"] = False
    command.upgrade(cfg, "0008")
    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("INSERT INTO projects (id, name, created_at) VALUES ('p1', 'P', :t)"),
                {"t": "2026-01-01"},
            )
            conn.execute(
                text(
                    "INSERT INTO prompts (id, project_id, slug, name, latest_version, created_at,"
                    " updated_at) VALUES (1, 'p1', 'g', 'G', 2, :t, :t)"
                ),
                {"t": "2026-01-01"},
            )
            for n, system in ((1, "Be {{tone}}."), (2, "")):
                conn.execute(
                    text(
                        "INSERT INTO prompt_versions (prompt_id, version, system_prompt,"
                        " user_template, variables, model, temperature, metadata, created_at)"
                        " VALUES (1, :n, :s, 'Hi {{name}}', '[]', 'm', 1.0, '{}', :t)"
                    ),
                    {"n": n, "s": system, "t": "2026-01-01"},
                )
        command.upgrade(cfg, "heads")
        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT version, messages, system_prompt, user_template FROM prompt_versions"
                    " ORDER BY version"
                )
            ).all()
            kind = conn.execute(text("SELECT type FROM prompts")).scalar_one()
    finally:
        engine.dispose()

    def decoded(value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

    assert kind == "chat"
    assert [(r[0], decoded(r[1]), r[2], r[3]) for r in rows] == [
        (
            1,
            [
                {"role": "system", "content": "Be {{tone}}."},
                {"role": "user", "content": "Hi {{name}}"},
            ],
            "Be {{tone}}.",
            "Hi {{name}}",
        ),
        (2, [{"role": "user", "content": "Hi {{name}}"}], "", "Hi {{name}}"),
    ]
