"""bcrypt (API keys) and argon2 (passwords) never run inside a write transaction: on SQLite
that would hold the only write lock for the whole hash. Each real hash call is wrapped with
a probe that looks at the database from outside: on SQLite another connection must be able
to take the write lock (``BEGIN IMMEDIATE``) at once; on PostgreSQL no other session of the
database may be idle inside a transaction."""

from __future__ import annotations

import io
import sqlite3
import sys
from pathlib import Path
from typing import Any

import argon2
import bcrypt
import psycopg
import pytest

from promptops.cli.main import main as cli_main
from promptops.cli.serve import _bootstrap
from promptops.server.config import Settings
from tests.dashboard.support import Person, Site
from tests.support import Api, Project


class Probe:
    def __init__(self, url: str) -> None:
        self.url = url
        self.hashes: list[tuple[str, bool]] = []  # (what, inside a write transaction)

    def in_write_transaction(self) -> bool:
        if self.url.startswith("sqlite"):
            conn = sqlite3.connect(self.url.split("///", 1)[1], timeout=0.05)
            conn.isolation_level = None
            try:
                conn.execute("BEGIN IMMEDIATE")
                conn.execute("ROLLBACK")
                return False
            except sqlite3.OperationalError:  # database is locked
                return True
            finally:
                conn.close()
        with psycopg.connect(self.url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%'"
            ).fetchone()
            return bool(row and row[0])

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real_hashpw, real_hash = bcrypt.hashpw, argon2.PasswordHasher.hash

        def hashpw(password: bytes, salt: bytes) -> bytes:
            self.hashes.append(("bcrypt", self.in_write_transaction()))
            return real_hashpw(password, salt)

        def hash_(hasher: argon2.PasswordHasher, password: str, **kw: Any) -> str:
            self.hashes.append(("argon2", self.in_write_transaction()))
            return real_hash(hasher, password, **kw)

        monkeypatch.setattr(bcrypt, "hashpw", hashpw)
        monkeypatch.setattr(argon2.PasswordHasher, "hash", hash_)

    def assert_outside(self, *expected: str) -> None:
        assert [what for what, _ in self.hashes] == list(expected), self.hashes
        assert not any(inside for _, inside in self.hashes), self.hashes
        self.hashes.clear()


@pytest.fixture
def probe(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Probe:
    made = Probe(database_url)
    made.install(monkeypatch)
    return made


def test_api_and_dashboard_hash_before_the_transaction(
    api: Api,
    people: dict[str, Person],
    project: Project,
    admin_key: str,
    site: Site,
    probe: Probe,
) -> None:
    assert not probe.in_write_transaction()  # the probe itself sees no false positive
    admin = api.as_(admin_key)
    r = admin.post("/v1/keys", json={"environment": "dev", "project_id": project.id})
    assert r.status_code == 201, r.text
    probe.assert_outside("bcrypt")
    assert admin.post("/v1/projects", json={"name": "P2"}).status_code == 201
    probe.assert_outside("bcrypt")
    r = admin.post("/v1/users", json={"email": "new@example.com", "password": "long enough"})
    assert r.status_code == 201, r.text
    probe.assert_outside("argon2")
    # A caller who may not create keys does not get the server to hash at all.
    read = api.new_key(admin_key, "dev", "read", project_id=project.id)
    probe.hashes.clear()
    assert api.as_(read).post("/v1/keys", json={"environment": "dev"}).status_code == 403
    probe.assert_outside()

    root = site.signed_in(people["root"])
    r = root.post(f"/p/{project.id}/keys", {"environment": "dev", "role": "read"})
    assert r.status_code == 201, r.text
    probe.assert_outside("bcrypt")
    assert root.post("/projects", {"name": "P3"}).status_code == 201
    probe.assert_outside("bcrypt")
    r = root.post(
        f"/p/{project.id}/members",
        {"email": "member@example.com", "role": "editor", "password": "long enough"},
    )
    assert r.status_code == 303, r.text
    probe.assert_outside("argon2")
    new = "a changed password"
    r = root.post(
        "/account/password",
        {"current_password": people["root"].password, "new_password": new, "confirm_password": new},
    )
    assert r.status_code == 303, r.text
    probe.assert_outside("argon2")


def test_first_start_and_cli_hash_before_the_transaction(
    database_url: str, probe: Probe, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url, bcrypt_rounds=4, argon2_time_cost=1, argon2_memory_kib=64
    )
    _bootstrap(settings, demo=True)
    # admin key, user, demo keys (dev write, dev read, staging write, production write)
    probe.assert_outside("bcrypt", "argon2", "bcrypt", "bcrypt", "bcrypt", "bcrypt")
    _bootstrap(settings, demo=True)  # everything exists: nothing to hash
    probe.assert_outside()
    for name in ("DATABASE_URL", "ARGON2_TIME_COST", "ARGON2_MEMORY_KIB"):
        monkeypatch.setenv(f"PROMPTOPS_{name}", str(getattr(settings, name.lower())))
    assert cli_main(["users", "create", "--email", "cli@example.com", "--password", "x" * 12]) == 0
    probe.assert_outside("argon2")
    monkeypatch.setattr(sys, "stdin", io.StringIO("y" * 12 + "\n"))
    assert cli_main(["users", "set-password", "--email", "cli@example.com"]) == 0
    probe.assert_outside("argon2")
