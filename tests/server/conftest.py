"""Fixtures for the server tests: keys for every environment and role, a second project."""

from __future__ import annotations

import pytest

from tests.support import Api, Project

ENVIRONMENTS = ("dev", "staging", "production")


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
