"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL (127.0.0.1:5432)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from promptops.db.session import migrate
from promptops.domain.bootstrap import ensure_admin_key
from promptops.server.app import create_app
from promptops.server.config import Settings
from tests.support import Api, PostgresDatabases, Project

# SQLite URLs made from the migrated template by ``database_url`` (already at the head).
_MIGRATED: set[str] = set()

TEST_SECRET_KEY = "tests-secret-key-" + "k" * 32  # seals provider keys and secrets
BACKENDS = [pytest.param("sqlite", id="sqlite"), pytest.param("postgres", id="postgres")]


# Modules whose tests share one module-scoped server, browser or fake and may run in order
# against it (the docs blocks do): under pytest-xdist (--dist loadgroup) each such module runs
# whole on one worker, so its state is not split and its server or browser starts once.
SHARED_MODULE_STATE = ("tests/docs/", "tests/e2e/", "tests/fakes/")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    root = config.rootpath
    for item in items:
        where = item.path.relative_to(root).as_posix() if item.path.is_relative_to(root) else ""
        if where.startswith(SHARED_MODULE_STATE):
            item.add_marker(pytest.mark.xdist_group(where))


@pytest.fixture(scope="session")
def postgres(request: pytest.FixtureRequest) -> Iterator[PostgresDatabases]:
    """This session's (under pytest-xdist: this worker's) scratch PostgreSQL database."""
    worker = getattr(request.config, "workerinput", {}).get("workerid", "main")
    dbs = PostgresDatabases(tag=worker)
    yield dbs
    dbs.drop()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated to the latest schema once per session (per xdist worker):
    each test starts from a copy of it, byte for byte what migrating a fresh file gives,
    instead of running every migration again (about a second per test)."""
    path = tmp_path_factory.mktemp("sqlite-template") / "promptops.db"
    migrate(f"sqlite:///{path}")
    return path


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        path = tmp_path / "promptops.db"
        url = f"sqlite:///{path}"
        if "app" in request.fixturenames:  # the app would migrate the file: start migrated
            shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
            _MIGRATED.add(url)
        return url  # else a file that does not exist yet (as migration tests want)
    dbs: PostgresDatabases = request.getfixturevalue("postgres")
    dbs.reset()
    return dbs.url


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, bcrypt_rounds=4, demo=False, secret_key=TEST_SECRET_KEY
    )


@pytest.fixture
def app(settings: Settings) -> Any:
    # A copy of the migrated template needs no migration run (it would find nothing to do).
    return create_app(settings, run_migrations=settings.database_url not in _MIGRATED)


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
