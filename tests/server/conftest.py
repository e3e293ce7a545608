"""Fixtures for the server tests: keys for every environment and role, a second project.

``app`` is overridden only to make a fresh SQLite database cheaper: the schema is migrated
once per session into a template file that each test copies (the result of ``migrate()``,
byte for byte); PostgreSQL runs ``migrate()`` as in ``tests/conftest.py``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from promptops.db.session import migrate
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.support import Api, Project

ENVIRONMENTS = ("dev", "staging", "production")


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("schema") / "template.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture
def app(settings: Settings, request: pytest.FixtureRequest) -> Any:
    path = settings.sqlite_path
    if path is not None and not path.exists():
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        return create_app(settings, run_migrations=False)
    return create_app(settings)


@pytest.fixture
def keys(api: Api, admin_key: str, project: Project) -> dict[str, str]:
    """Keys of ``project`` named ``<environment>-<role>``; ``dev-write`` is the initial key."""
    made = {"dev-write": project.key}
    for env in ENVIRONMENTS:
        for role in ("read", "write"):
            if f"{env}-{role}" not in made:
                made[f"{env}-{role}"] = api.new_key(
                    admin_key, env, role, project_id=project.id, name=f"{env} {role}"
                )
    return made


@pytest.fixture
def other(api: Api, admin_key: str) -> Project:
    """A second project (B), whose keys must see nothing of ``project`` (A)."""
    return api.new_project(admin_key, name="Other")
