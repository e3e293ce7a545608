"""Projects and API keys: every endpoint, the key shown once, scoping, revocation, last use."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tests.server.helpers import assert_error, quick_client, row_counts
from tests.support import Api, Project, live_server

KEY = re.compile(r"^(po_live_[a-z0-9]{8})_[A-Za-z0-9]{40}$")
PREFIX = re.compile(r"^po_live_[a-z0-9]{8}$")
KEY_FIELDS = {
    "prefix",
    "project_id",
    "environment",
    "role",
    "name",
    "created_by",
    "created_at",
    "last_used_at",
    "revoked_at",
}


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _listed(api: Api, key: str) -> dict[str, dict[str, Any]]:
    r = api.as_(key).get("/v1/keys")
    assert r.status_code == 200, r.text
    return {k["prefix"]: k for k in r.json()}


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield from quick_client(app)


# ---- projects ---------------------------------------------------------------------------


def test_create_project_returns_its_dev_write_key_once(api: Api, admin_key: str) -> None:
    r = api.as_(admin_key).post("/v1/projects", json={"name": "  Acme Corp  "})
    assert r.status_code == 201, r.text
    body = r.json()
    project = body["project"]
    assert re.fullmatch(r"[0-9a-f]{32}", project["id"])
    assert project["name"] == "Acme Corp"  # surrounding whitespace trimmed
    assert _parse_time(project["created_at"]).tzinfo is not None
    issued = body["api_key"]
    match = KEY.match(issued["key"])
    assert match, issued["key"]
    assert issued["prefix"] == match.group(1)
    assert issued["project_id"] == project["id"]
    assert (issued["environment"], issued["role"]) == ("dev", "write")
    assert issued["revoked_at"] is None
    assert set(issued) == KEY_FIELDS | {"key"}
    # The key works at once, in its project.
    r = api.as_(issued["key"]).get(f"/v1/projects/{project['id']}")
    assert r.status_code == 200 and r.json()["name"] == "Acme Corp"
    # ...and is never shown again.
    listed = api.as_(admin_key).get("/v1/keys", params={"project_id": project["id"]})
    assert listed.status_code == 200
    assert issued["key"] not in listed.text
    assert issued["key"] not in api.as_(admin_key).get("/v1/projects").text


BAD_PROJECTS = [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "   "}, "name"),
    ({"name": None}, "name"),
    ({"name": 42}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "ok", "owner": "me"}, "owner"),
]


def test_create_project_rejects_bad_input(api: Api, admin_key: str, app: Any) -> None:
    before = row_counts(app)
    for body, field in BAD_PROJECTS:
        r = api.as_(admin_key).post("/v1/projects", json=body)
        assert_error(r, 422, field=field)
    assert row_counts(app) == before


def test_only_the_admin_key_creates_projects(api: Api, project: Project, app: Any) -> None:
    before = row_counts(app)
    assert_error(api.as_(project.key).post("/v1/projects", json={"name": "x"}), 403)
    assert_error(api.post("/v1/projects", json={"name": "x"}), 401)
    assert row_counts(app) == before


def test_list_projects_admin_sees_all_a_key_only_its_own(
    api: Api, admin_key: str, project: Project, other: Project
) -> None:
    r = api.as_(admin_key).get("/v1/projects")
    assert r.status_code == 200
    assert {p["id"] for p in r.json()} == {project.id, other.id}
    for p, key in ((project, project.key), (other, other.key)):
        r = api.as_(key).get("/v1/projects")
        assert r.status_code == 200
        assert [x["id"] for x in r.json()] == [p.id]


def test_get_project(api: Api, admin_key: str, project: Project, other: Project) -> None:
    assert api.as_(admin_key).get(f"/v1/projects/{project.id}").json()["id"] == project.id
    assert api.as_(project.key).get(f"/v1/projects/{project.id}").status_code == 200
    assert_error(api.as_(other.key).get(f"/v1/projects/{project.id}"), 403)
    # A key learns nothing about projects that are not its own, existing or not.
    assert_error(api.as_(other.key).get("/v1/projects/" + "0" * 32), 403)
    assert_error(api.as_(admin_key).get("/v1/projects/" + "0" * 32), 404)
    assert_error(api.as_(admin_key).get("/v1/projects/not-a-project-id"), 404)
    assert_error(api.get(f"/v1/projects/{project.id}"), 401)


# ---- creating keys ----------------------------------------------------------------------


def test_project_key_creates_a_key_shown_once(api: Api, project: Project) -> None:
    w = api.as_(project.key)
    r = w.post("/v1/keys", json={"environment": "dev", "role": "read", "name": "web app"})
    assert r.status_code == 201, r.text
    body = r.json()
    match = KEY.match(body["key"])
    assert match and body["prefix"] == match.group(1)
    assert PREFIX.match(body["prefix"])
    assert body["project_id"] == project.id
    assert (body["environment"], body["role"], body["name"]) == ("dev", "read", "web app")
    assert body["created_by"] == project.prefix
    assert body["last_used_at"] is None and body["revoked_at"] is None
    # The new key works, as a read key of dev.
    assert api.as_(body["key"]).get("/v1/prompts").status_code == 200
    # The list never carries the key or its hash.
    r = w.get("/v1/keys")
    assert r.status_code == 200
    entries = r.json()
    assert {e["prefix"] for e in entries} == {project.prefix, body["prefix"]}
    for entry in entries:
        assert set(entry) == KEY_FIELDS, entry
    assert body["key"] not in r.text and project.key not in r.text
    assert "$2b$" not in r.text and "hash" not in r.text


def test_default_role_is_read(api: Api, project: Project) -> None:
    r = api.as_(project.key).post("/v1/keys", json={"environment": "dev"})
    assert r.status_code == 201 and r.json()["role"] == "read"
    assert_error(api.as_(r.json()["key"]).post("/v1/prompts", json={"slug": "a", "name": "A"}), 403)


def test_every_key_is_unique(api: Api, project: Project) -> None:
    made = [api.as_(project.key).post("/v1/keys", json={"environment": "dev"}) for _ in range(5)]
    assert len({r.json()["key"] for r in made}) == 5
    assert len({r.json()["prefix"] for r in made}) == 5


def test_admin_creates_keys_in_any_environment_of_a_named_project(
    api: Api, admin_key: str, project: Project
) -> None:
    adm = api.as_(admin_key)
    r = adm.post(
        "/v1/keys", json={"environment": "production", "role": "write", "project_id": project.id}
    )
    assert r.status_code == 201, r.text
    assert (r.json()["environment"], r.json()["role"]) == ("production", "write")
    assert r.json()["project_id"] == project.id
    assert_error(adm.post("/v1/keys", json={"environment": "dev"}), 422, field="project_id")
    assert_error(
        adm.post("/v1/keys", json={"environment": "dev", "project_id": "f" * 32}),
        404,
        field="project_id",
    )


BAD_KEYS = [
    ({}, "environment"),
    ({"environment": "qa"}, "environment"),
    ({"environment": "DEV"}, "environment"),
    ({"environment": "dev", "role": "admin"}, "role"),
    ({"environment": "dev", "role": "owner"}, "role"),
    ({"environment": "dev", "name": 5}, "name"),
    ({"environment": "dev", "name": "x" * 201}, "name"),
    ({"environment": "dev", "scopes": ["all"]}, "scopes"),
    ({"environment": ["dev"]}, "environment"),
]


def test_create_key_rejects_bad_input(api: Api, project: Project, app: Any) -> None:
    before = row_counts(app)
    for body, field in BAD_KEYS:
        assert_error(api.as_(project.key).post("/v1/keys", json=body), 422, field=field)
    assert row_counts(app) == before


def test_list_keys_scoping(api: Api, admin_key: str, project: Project, other: Project) -> None:
    assert set(_listed(api, project.key)) == {project.prefix}
    assert set(_listed(api, other.key)) == {other.prefix}
    r = api.as_(admin_key).get("/v1/keys", params={"project_id": other.id})
    assert [k["prefix"] for k in r.json()] == [other.prefix]
    assert_error(api.as_(admin_key).get("/v1/keys"), 422, field="project_id")
    assert_error(api.as_(other.key).get("/v1/keys", params={"project_id": project.id}), 403)


# ---- revoking ---------------------------------------------------------------------------


def test_revoke_key_is_recorded_and_idempotent(api: Api, project: Project) -> None:
    w = api.as_(project.key)
    made = w.post("/v1/keys", json={"environment": "dev", "role": "read"}).json()
    r = w.delete(f"/v1/keys/{made['prefix']}")
    assert r.status_code == 200, r.text
    assert r.json()["prefix"] == made["prefix"]
    revoked_at = r.json()["revoked_at"]
    assert revoked_at is not None
    assert "key" not in r.json()
    again = w.delete(f"/v1/keys/{made['prefix']}")
    assert again.status_code == 200 and again.json()["revoked_at"] == revoked_at
    assert _listed(api, project.key)[made["prefix"]]["revoked_at"] == revoked_at


def test_revoke_errors(
    api: Api, admin_key: str, project: Project, other: Project, keys: dict[str, str], app: Any
) -> None:
    w = api.as_(project.key)
    before = row_counts(app)
    assert_error(w.delete("/v1/keys/po_live_zzzzzzzz"), 404, field="prefix")
    assert_error(w.delete("/v1/keys/not-a-prefix"), 404, field="prefix")
    # Another project's key is not found (not even "forbidden": nothing leaks).
    assert_error(w.delete(f"/v1/keys/{other.prefix}"), 404)
    # The admin key is not a project key.
    admin_prefix = admin_key.rsplit("_", 1)[0]
    assert_error(w.delete(f"/v1/keys/{admin_prefix}"), 404)
    # A dev key cannot revoke a staging key; a read key revokes nothing.
    staging_prefix = keys["staging-read"].rsplit("_", 1)[0]
    assert_error(w.delete(f"/v1/keys/{staging_prefix}"), 403)
    assert_error(api.as_(keys["dev-read"]).delete(f"/v1/keys/{project.prefix}"), 403)
    assert_error(api.delete(f"/v1/keys/{project.prefix}"), 401)
    assert_error(api.as_(admin_key).delete(f"/v1/keys/{project.prefix}"), 422, field="project_id")
    assert row_counts(app) == before
    assert all(k["revoked_at"] is None for k in _listed(api, project.key).values())
    # The admin names the project and revokes any of its keys.
    r = api.as_(admin_key).delete(f"/v1/keys/{staging_prefix}", params={"project_id": project.id})
    assert r.status_code == 200 and r.json()["revoked_at"] is not None


def test_revoked_key_is_refused_on_the_next_request(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    paths = ["/v1/prompts", "/v1/prompts/greeting", "/v1/keys", "/v1/audit"]
    victim = api.new_key(project.key, "dev", "read")
    prefix = victim.rsplit("_", 1)[0]
    # Used (and so remembered as verified) before the revocation.
    for path in paths * 2:
        assert api.as_(victim).get(path).status_code == 200
    assert api.as_(project.key).delete(f"/v1/keys/{prefix}").status_code == 200
    for path in paths:
        detail = assert_error(api.as_(victim).get(path), 401, code="unauthenticated")
        assert "revoked" in detail["message"]


@pytest.mark.parametrize("query", ["", "?via=api"], ids=["hotpath", "route"])
def test_revoked_key_is_refused_on_the_active_read(api: Api, project: Project, query: str) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    victim = api.new_key(project.key, "dev", "read")
    url = f"/v1/prompts/greeting/active{query}"
    for _ in range(3):  # remembered key, snapshot filled
        r = api.as_(victim).get(url)
        assert r.status_code == 200 and r.json()["version"] == 1
    assert api.as_(project.key).delete(f"/v1/keys/{victim.rsplit('_', 1)[0]}").status_code == 200
    for target in (url, "/v1/prompts/greeting/active"):
        assert_error(api.as_(victim).get(target), 401)
    # The key that revoked it still reads.
    assert api.as_(project.key).get("/v1/prompts/greeting/active").status_code == 200


def test_a_key_may_revoke_itself(api: Api, project: Project) -> None:
    w = api.as_(project.key)
    assert w.delete(f"/v1/keys/{project.prefix}").status_code == 200
    assert_error(w.get("/v1/prompts"), 401)
    assert_error(w.delete(f"/v1/keys/{project.prefix}"), 401)


def test_last_used_at_is_recorded_after_flush(
    api: Api, admin_key: str, project: Project, app: Any
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    reader = api.new_key(project.key, "dev", "read")
    unused = api.new_key(project.key, "dev", "read")
    app.state.auth.flush_last_used()
    start = datetime.now(UTC)
    assert api.as_(reader).get("/v1/prompts/greeting/active").status_code == 200
    assert app.state.auth.flush_last_used() >= 1
    listed = api.as_(admin_key).get("/v1/keys", params={"project_id": project.id}).json()
    by_prefix = {k["prefix"]: k for k in listed}
    used_at = by_prefix[reader.rsplit("_", 1)[0]]["last_used_at"]
    assert used_at is not None
    assert _parse_time(used_at) >= start.replace(microsecond=0)
    assert by_prefix[unused.rsplit("_", 1)[0]]["last_used_at"] is None
    # Nothing used since: nothing to write.
    app.state.auth.flush_last_used()
    assert app.state.auth.flush_last_used() == 0


def test_revocation_on_a_real_server_takes_effect_on_the_next_request(
    app: Any, admin_key: str
) -> None:
    """Through uvicorn, with the app's lifespan running (and, on PostgreSQL, its LISTEN
    thread): a key remembered by both the API and the active-read fast path is refused on
    the very next request after its revocation."""
    with live_server(app) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        api = Api(http)
        project = api.new_project(admin_key)
        api.new_prompt(project.key)
        api.new_version(project.key)
        reader = api.new_key(project.key, "dev", "read")
        for _ in range(3):
            assert api.as_(reader).get("/v1/prompts/greeting/active").status_code == 200
            assert api.as_(reader).get("/v1/prompts").status_code == 200
        r = api.as_(project.key).delete(f"/v1/keys/{reader.rsplit('_', 1)[0]}")
        assert r.status_code == 200
        assert_error(api.as_(reader).get("/v1/prompts/greeting/active"), 401)
        assert_error(api.as_(reader).get("/v1/prompts"), 401)
        assert api.as_(project.key).get("/v1/prompts/greeting/active").status_code == 200
