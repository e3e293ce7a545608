"""Fixtures for users, sessions, roles, protected environments and the dashboard pages.

Every test runs on SQLite and PostgreSQL (through the shared ``database_url`` fixture).
Passwords are hashed with a cheap argon2 setting so signing in costs microseconds here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from promptops.db.models import Membership
from promptops.domain import sessions, users
from promptops.server.config import Settings
from tests.dashboard.support import Person, Site
from tests.support import Api, Project

ROLES = ("owner", "admin", "editor", "viewer")


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        bcrypt_rounds=4,
        demo=False,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        embedded_worker=False,
    )


def make_person(
    app: Any, email: str, *, project_id: str | None, role: str | None, instance_admin: bool = False
) -> Person:
    password = f"pw-{email}"
    with app.state.db.write() as session:
        user = users.create_user(
            session,
            None,
            email=email,
            password=password,
            is_instance_admin=instance_admin,
            hasher=app.state.users.hasher,
        )
        if project_id is not None and role is not None:
            session.add(Membership(user_id=user.id, project_id=project_id, role=role))
        token = sessions.create_token(session, user, name="tests").token
        user_id = user.id
    return Person(email=email, password=password, token=token, user_id=user_id)


@pytest.fixture
def people(app: Any, project: Project, other: Project) -> dict[str, Person]:
    """One user per role in ``project``, an ``outsider`` (owner of ``other``) and the
    instance admin ``root`` (no membership)."""
    made = {
        role: make_person(app, f"{role}@example.com", project_id=project.id, role=role)
        for role in ROLES
    }
    made["admin2"] = make_person(app, "admin2@example.com", project_id=project.id, role="admin")
    made["outsider"] = make_person(app, "outsider@example.com", project_id=other.id, role="owner")
    made["root"] = make_person(
        app, "root@example.com", project_id=None, role=None, instance_admin=True
    )
    return made


@pytest.fixture
def other(api: Api, admin_key: str) -> Project:
    return api.new_project(admin_key, name="Other")


@pytest.fixture
def site(app: Any, client: TestClient) -> Iterator[Site]:
    """Opens signed-in browsers (one cookie jar each) on the app."""
    made = Site(app)
    yield made
    made.close()


@pytest.fixture
def greeting(api: Api, project: Project) -> str:
    """A prompt ``greeting`` with versions 1 and 2 (v2 active in dev)."""
    api.new_prompt(project.key, "greeting")
    api.new_version(project.key, "greeting", user_template="Hello {{name}}")
    api.new_version(project.key, "greeting", user_template="Hi {{name}}!")
    return "greeting"


@pytest.fixture
def protected(api: Api, people: dict[str, Person], project: Project, greeting: str) -> str:
    """``greeting`` (see above) in a project whose production is protected by its owner."""
    r = api.http.put(
        "/v1/environments/production",
        json={"protected": True},
        headers=people["owner"].headers(project.id),
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "production", "protected": True, "required_evals": []}
    return greeting
