"""One email validator for every way a user or member is named (API users and members,
dashboard, CLI), and a production admin key with real entropy."""

from __future__ import annotations

import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from promptops.domain.keys import generate_key
from promptops.server.config import Settings
from tests.dashboard.support import Person, Site
from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project

BAD_EMAILS = ["a@b", "user@-example.com", "a..b@example.com", "<x>@example.com", "x@ex_ample.com"]


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_users_and_members_refuse_invalid_emails(
    app: Any, api: Api, people: dict[str, Person], project: Project, admin_key: str, email: str
) -> None:
    before = row_counts(app)
    r = api.as_(admin_key).post("/v1/users", json={"email": email, "password": "long enough"})
    assert_error(r, 422, code="invalid_input", field="email")
    r = api.http.put(
        "/v1/members",
        json={"email": email, "role": "editor"},
        headers=people["owner"].headers(project.id),
    )
    assert_error(r, 422, code="invalid_input", field="email")
    assert row_counts(app) == before


def test_valid_addresses_still_work(api: Api, admin_key: str) -> None:
    for email in ("First.Last+tag@Example.co.uk", "admin2@localhost", "ü@bücher.de"):
        r = api.as_(admin_key).post("/v1/users", json={"email": email, "password": "long enough"})
        assert r.status_code == 201, r.text
        assert r.json()["email"] == email.lower()


def test_the_dashboard_refuses_invalid_emails(
    people: dict[str, Person], project: Project, site: Site
) -> None:
    root = site.signed_in(people["root"])
    r = root.post(
        f"/p/{project.id}/members", {"email": "a@b", "role": "editor", "password": "long enough"}
    )
    assert r.status_code == 422 and "invalid email address" in r.text


def test_the_cli_refuses_invalid_emails(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "promptops.cli.main", "users", "create", "--email", "a@b",
         "--password", "long enough", "--database-url", str(tmp_path / "p.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1 and "invalid email address" in proc.stderr, proc.stderr


@pytest.mark.parametrize(
    "key",
    [
        "a" * 64,  # one repeated character
        "ab" * 32,
        "0123456789" * 2 + "x",  # too short
        "changeme-changeme-changeme-changeme",  # a placeholder padded out
        "replace-with-a-random-admin-key-please",
    ],
)
def test_production_admin_keys_need_entropy(key: str) -> None:
    with pytest.raises(ValueError, match="PROMPTOPS_ADMIN_KEY"):
        Settings(mode="production", admin_key=key)
    Settings(mode="development", admin_key=key)  # development mode takes anything


def test_random_admin_keys_are_accepted() -> None:
    for key in (secrets.token_urlsafe(32), generate_key("admin")[0]):
        made = Settings(mode="production", admin_key=key, secret_key=secrets.token_urlsafe(32))
        assert made.admin_key == key
