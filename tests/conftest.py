"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL (127.0.0.1:5432)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.support import Api, PostgresDatabases, Project

BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres")]


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    dbs = PostgresDatabases()
    yield dbs
    dbs.drop()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'promptops.db'}"
    dbs: PostgresDatabases = request.getfixturevalue("postgres")
    dbs.reset()
    return dbs.url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, bcrypt_rounds=4, demo=False)


@pytest.fixture
def app(settings: Settings) -> Any:
    return create_app(settings)


@pytest.fixture
def admin_key(app: Any) -> str:
    with app.state.db.write() as session:
        key = ensure_admin_key(session, rounds=4)
    assert key is not None
    return key


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def project(api: Api, admin_key: str) -> Project:
    return api.new_project(admin_key)
