"""Migrations: one head, idempotent, and the migrated schema equals the models."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine

from promptops.db.models import Base
from promptops.db.session import _MIGRATIONS, migrate


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
                "project_env_created",
                "metrics",
            )
        }
        found = {(entry[0], entry[1].name) for entry in diff if isinstance(entry, tuple)}
        assert expected <= found, diff
        diff = [e for e in diff if not (isinstance(e, tuple) and (e[0], e[1].name) in expected)]
    assert diff == []


def _not_a_log_partition(obj: Any, name: str | None, kind: str, reflected: bool, _: Any) -> bool:
    """The month partitions of request_logs (migration 0007) are not models."""
    table = obj if kind == "table" else getattr(obj, "table", None)
    table_name = getattr(table, "name", name) or ""
    return not re.fullmatch(r"request_logs_(p\d{6}|default)", table_name)
