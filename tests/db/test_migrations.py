"""Migrations: one head, idempotent, and the migrated schema equals the models."""

from __future__ import annotations

from pathlib import Path

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
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
            )
    finally:
        engine.dispose()
    assert diff == []
