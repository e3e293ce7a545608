"""Who may do what: every kind of caller against every endpoint, with the expected status.

The world: project A with prompt ``greeting`` (v1, v2; dev → v2 with v1 before it,
staging → v1), keys of every environment and role, a victim key to revoke, a revoked key;
project B with its own key. Refused calls must store nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from promptops.domain import deployments, projects, prompts, versions
from promptops.domain import keys as key_service
from promptops.domain.access import Actor
from tests.server.helpers import assert_error, quick_client, row_counts
from tests.support import Api, Project


@dataclass(frozen=True)
class Endpoint:
    id: str
    method: str
    path: str  # {A}: project A's id, {victim}: prefix of a dev read key of A
    body: dict[str, Any] | None = None


ENDPOINTS = [
    Endpoint("list-projects", "GET", "/v1/projects"),
    Endpoint("create-project", "POST", "/v1/projects", {"name": "New"}),
    Endpoint("get-project", "GET", "/v1/projects/{A}"),
    Endpoint("list-keys", "GET", "/v1/keys?project_id={A}"),
    Endpoint(
        "create-key",
        "POST",
        "/v1/keys",
        {"environment": "dev", "role": "read", "project_id": "{A}"},
    ),
    Endpoint("revoke-key", "DELETE", "/v1/keys/{victim}?project_id={A}"),
    Endpoint("list-prompts", "GET", "/v1/prompts"),
    Endpoint("create-prompt", "POST", "/v1/prompts", {"slug": "new-one", "name": "New"}),
    Endpoint("get-prompt", "GET", "/v1/prompts/greeting"),
    Endpoint("update-prompt", "PATCH", "/v1/prompts/greeting", {"name": "Renamed"}),
    Endpoint(
        "create-version",
        "POST",
        "/v1/prompts/greeting/versions",
        {"user_template": "Hey {{name}}", "model": "gpt-4o"},
    ),
    Endpoint("list-versions", "GET", "/v1/prompts/greeting/versions"),
    Endpoint("get-version", "GET", "/v1/prompts/greeting/versions/1"),
    Endpoint(
        "record-eval",
        "POST",
        "/v1/prompts/greeting/versions/1/evals",
        {"name": "quality", "score": 0.9, "passed": True},
    ),
    Endpoint("list-evals", "GET", "/v1/prompts/greeting/versions/1/evals"),
    Endpoint(
        "record-eval-unknown-version",
        "POST",
        "/v1/prompts/greeting/versions/99/evals",
        {"name": "quality", "score": 0.9, "passed": True},
    ),
    Endpoint("list-evals-unknown-version", "GET", "/v1/prompts/greeting/versions/99/evals"),
    Endpoint("active-hotpath", "GET", "/v1/prompts/greeting/active"),
    Endpoint("active-route", "GET", "/v1/prompts/greeting/active?via=api"),
    Endpoint("deployments", "GET", "/v1/prompts/greeting/deployments"),
    Endpoint("promote-dev", "POST", "/v1/prompts/greeting/deployments/dev", {"version": 1}),
    Endpoint("rollback-dev", "POST", "/v1/prompts/greeting/deployments/dev/rollback"),
    Endpoint("history-dev", "GET", "/v1/prompts/greeting/deployments/dev/history"),
    Endpoint("audit", "GET", "/v1/audit?project_id={A}"),
]
WRITES = {
    "create-project",
    "create-key",
    "revoke-key",
    "create-prompt",
    "update-prompt",
    "create-version",
    "promote-dev",
    "rollback-dev",
    "record-eval",
    "record-eval-unknown-version",
}
OK = {
    "list-projects": 200,
    "create-project": 403,
    "get-project": 200,
    "list-keys": 200,
    "create-key": 201,
    "revoke-key": 200,
    "list-prompts": 200,
    "create-prompt": 201,
    "get-prompt": 200,
    "update-prompt": 200,
    "create-version": 201,
    "list-versions": 200,
    "get-version": 200,
    "record-eval": 201,  # any write key of the project: results are not an environment's
    "list-evals": 200,
    "record-eval-unknown-version": 404,
    "list-evals-unknown-version": 404,
    "active-hotpath": 200,
    "active-route": 200,
    "deployments": 200,
    "promote-dev": 200,
    "rollback-dev": 200,
    "history-dev": 200,
    "audit": 200,
}
PROMPT_ENDPOINTS = {
    "get-prompt",
    "update-prompt",
    "create-version",
    "list-versions",
    "get-version",
    "record-eval",
    "list-evals",
    "record-eval-unknown-version",
    "list-evals-unknown-version",
    "active-hotpath",
    "active-route",
    "deployments",
    "promote-dev",
    "rollback-dev",
    "history-dev",
}

# scenario -> endpoint id -> expected status (endpoints not named: the OK column)
EXPECTED: dict[str, dict[str, int]] = {
    # A's own dev write key: the control row.
    "dev-write": {},
    # Read-only: reads pass, every write is refused.
    "dev-read": {e: 403 for e in WRITES},
    # A write key of another environment: project-level writes pass, but dev's keys and
    # dev's deployments are not its to change.
    "staging-write": {
        "create-project": 403,
        "create-key": 403,
        "revoke-key": 403,
        "promote-dev": 403,
        "rollback-dev": 403,
    },
    "production-read": {e: 403 for e in WRITES} | {"active-hotpath": 404, "active-route": 404},
    # Project B's write key addressing A: A's project, keys and audit are forbidden; A's
    # prompts do not exist for it (it creates its own "new-one" in B).
    "other-project": {
        "get-project": 403,
        "list-keys": 403,
        "create-key": 403,
        "revoke-key": 403,
        "audit": 403,
        "create-project": 403,
    }
    | dict.fromkeys(PROMPT_ENDPOINTS, 404),
    # The instance admin key manages projects and keys, and reads the audit log; the
    # prompt endpoints belong to project keys.
    "admin": {"create-project": 201, "list-prompts": 403, "create-prompt": 403}
    | dict.fromkeys(PROMPT_ENDPOINTS, 403),
}
UNAUTHENTICATED = [
    "missing",
    "empty",
    "basic",
    "bearer-only",
    "bearer-blank",
    "garbage-token",
    "token-scheme",
    "unknown-key",
    "wrong-secret",
    "revoked-key",
]


@dataclass
class World:
    a: Project
    b: Project
    admin: str
    keys: dict[str, str]
    victim: str
    revoked: str

    def url(self, template: str) -> str:
        return template.replace("{A}", self.a.id).replace("{victim}", self.victim)

    def body(self, template: dict[str, Any] | None) -> dict[str, Any] | None:
        if template is None:
            return None
        return {k: self.url(v) if isinstance(v, str) else v for k, v in template.items()}

    def headers(self, scenario: str) -> dict[str, str]:
        known = {
            "dev-write": self.a.key,
            "dev-read": self.keys["dev-read"],
            "staging-write": self.keys["staging-write"],
            "production-read": self.keys["production-read"],
            "other-project": self.b.key,
            "admin": self.admin,
            "unknown-key": "po_live_abcd1234_" + "A" * 40,
            "wrong-secret": self.a.prefix + "_" + "B" * 40,
            "revoked-key": self.revoked,
        }
        raw = {
            "missing": None,
            "empty": "",
            "basic": "Basic dXNlcjpwYXNz",
            "bearer-only": "Bearer",
            "bearer-blank": "Bearer    ",
            "garbage-token": "Bearer not-a-key",
            "token-scheme": f"Token {self.a.key}",
        }
        if scenario in raw:
            value = raw[scenario]
            return {} if value is None else {"Authorization": value}
        return {"Authorization": f"Bearer {known[scenario]}"}


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield from quick_client(app)


@pytest.fixture
def world(app: Any, api: Api, admin_key: str) -> World:
    """Built through the domain services in one transaction (fast), then one request to
    have the soon-revoked key remembered as verified."""
    admin = Actor(label=admin_key.rsplit("_", 1)[0], role="admin")
    made: dict[str, str] = {}
    with app.state.db.write() as session:
        a, a_key = projects.create_project(session, admin, name="A", rounds=4)
        b, b_key = projects.create_project(session, admin, name="B", rounds=4)
        for env in ("dev", "staging", "production"):
            for role in ("read", "write"):
                issued = key_service.create_key(
                    session, admin, environment=env, role=role, project_id=a.id, rounds=4
                )
                made[f"{env}-{role}"] = issued.key
        victim = key_service.create_key(
            session, admin, environment="dev", role="read", project_id=a.id, rounds=4
        )
        doomed = key_service.create_key(
            session, admin, environment="dev", role="write", project_id=a.id, rounds=4
        )
        dev = _actor(a_key.record)
        prompts.create_prompt(session, dev, slug="greeting", name="Greeting")
        for template in ("Hello {{name}}", "Hi {{name}}"):
            versions.create_version(
                session,
                dev,
                "greeting",
                system_prompt="",
                user_template=template,
                model="gpt-4o-mini",
                temperature=1.0,
            )
        staging = key_service.find_by_prefix(session, made["staging-write"].rsplit("_", 1)[0])
        assert staging is not None
        deployments.promote(session, _actor(staging), "greeting", "staging", version=1)
        a_id, b_id = a.id, b.id
        a_prefix, b_prefix = a_key.record.prefix, b_key.record.prefix
    assert api.as_(doomed.key).get("/v1/prompts").status_code == 200  # remembered as verified
    r = api.as_(admin_key).delete(f"/v1/keys/{doomed.record.prefix}", params={"project_id": a_id})
    assert r.status_code == 200
    return World(
        Project(a_id, a_key.key, a_prefix),
        Project(b_id, b_key.key, b_prefix),
        admin_key,
        made,
        victim.record.prefix,
        doomed.key,
    )


def _actor(record: Any) -> Actor:
    return Actor(
        label=record.prefix,
        role=record.role,
        project_id=record.project_id,
        environment=record.environment,
        key_id=record.id,
    )


def _call(api: Api, world: World, scenario: str, endpoint: Endpoint) -> Any:
    return api.request(
        endpoint.method,
        world.url(endpoint.path),
        headers=world.headers(scenario),
        json=world.body(endpoint.body),
    )


@pytest.mark.parametrize("scenario", [*EXPECTED, *UNAUTHENTICATED])
def test_matrix(api: Api, app: Any, world: World, scenario: str) -> None:
    """One row of the matrix: this caller against every endpoint, in one world.

    The endpoints run in the order listed; none of them changes what a later one answers.
    Every mismatch of the row is reported at once, as ``endpoint: expected -> got``.
    """
    row = EXPECTED.get(scenario, dict.fromkeys(OK, 401))
    mismatches = []
    for endpoint in ENDPOINTS:
        expected = row.get(endpoint.id, OK[endpoint.id])
        before = row_counts(app)
        r = _call(api, world, scenario, endpoint)
        if r.status_code != expected:
            mismatches.append(f"{endpoint.id}: {expected} -> {r.status_code} {r.text[:160]}")
        elif expected >= 400:
            assert_error(r, expected, code="unauthenticated" if expected == 401 else None)
            assert row_counts(app) == before, f"{endpoint.id}: a refused request stored data"
    assert not mismatches, "\n".join([f"scenario {scenario}:", *mismatches])


def test_unauthenticated_wins_over_bad_input(api: Api, world: World) -> None:
    for body in ({}, {"slug": "BAD SLUG"}, None):
        assert_error(api.post("/v1/prompts", json=body), 401)
    assert_error(api.post("/v1/prompts/greeting/versions", content=b"{not json"), 401)


# ---- environments -----------------------------------------------------------------------


def test_active_read_follows_the_key_environment(api: Api, world: World) -> None:
    for key, version in (("dev-read", 2), ("dev-write", 2), ("staging-read", 1)):
        token = world.a.key if key == "dev-write" else world.keys[key]
        r = api.as_(token).get("/v1/prompts/greeting/active")
        assert r.status_code == 200, r.text
        assert (r.json()["version"], r.json()["environment"]) == (version, key.split("-")[0])
    r = api.as_(world.keys["production-read"]).get("/v1/prompts/greeting/active")
    assert_error(r, 404)


CROSS_ENVIRONMENT = [
    ("staging-read", "dev", {"version": 1}),
    ("staging-write", "dev", {"version": 1}),
    ("dev-write", "production", {"version": 1}),
    ("dev-write", "staging", {"from_environment": "dev"}),
    ("staging-write", "production", {"from_environment": "staging"}),
    ("production-read", "production", {"version": 1}),
]


def test_deployments_change_only_in_the_key_environment(api: Api, app: Any, world: World) -> None:
    before = row_counts(app)
    deployed = api.as_(world.a.key).get("/v1/prompts/greeting/deployments").json()
    for key, environment, body in CROSS_ENVIRONMENT:
        token = world.a.key if key == "dev-write" else world.keys[key]
        url = f"/v1/prompts/greeting/deployments/{environment}"
        assert_error(api.as_(token).post(url, json=body), 403, code="forbidden")
        assert_error(api.as_(token).post(f"{url}/rollback"), 403)
    assert row_counts(app) == before
    assert api.as_(world.a.key).get("/v1/prompts/greeting/deployments").json() == deployed


def test_production_write_key_promotes_production(api: Api, world: World) -> None:
    w = api.as_(world.keys["production-write"])
    r = w.post("/v1/prompts/greeting/deployments/production", json={"from_environment": "staging"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    r = api.as_(world.keys["production-read"]).get("/v1/prompts/greeting/active")
    assert r.status_code == 200 and r.json()["version"] == 1


# ---- other projects ---------------------------------------------------------------------


def test_other_project_sees_none_of_a(api: Api, world: World) -> None:
    b = api.as_(world.b.key)
    r = b.get("/v1/prompts")
    assert r.status_code == 200 and r.json() == {"data": [], "next_cursor": None}
    assert b.get("/v1/prompts", params={"q": "greet"}).json()["data"] == []
    assert_error(b.get("/v1/prompts/greeting"), 404)
    assert_error(b.get("/v1/prompts/greeting/active"), 404)
    assert [p["id"] for p in b.get("/v1/projects").json()] == [world.b.id]
    assert [k["prefix"] for k in b.get("/v1/keys").json()] == [world.b.prefix]
    assert b.get("/v1/audit").json()["data"]
    assert all(e["project_id"] == world.b.id for e in b.get("/v1/audit").json()["data"])
    # B may use the same slug: prompts are addressed within the key's project.
    api.new_prompt(world.b.key)
    api.new_version(world.b.key, user_template="B's own {{thing}}")
    mine = b.get("/v1/prompts/greeting/active").json()
    assert mine["variables"] == ["thing"] and mine["version"] == 1
    theirs = api.as_(world.a.key).get("/v1/prompts/greeting/active").json()
    assert theirs["version"] == 2 and theirs["variables"] == ["name"]


# ---- no escalation ----------------------------------------------------------------------


ESCALATIONS = [
    ("dev-write", {"environment": "production", "role": "read"}, 403),
    ("dev-write", {"environment": "production", "role": "write"}, 403),
    ("dev-write", {"environment": "staging", "role": "read"}, 403),
    ("dev-read", {"environment": "dev", "role": "write"}, 403),
    ("dev-read", {"environment": "dev", "role": "read"}, 403),
    ("staging-write", {"environment": "dev", "role": "read"}, 403),
    ("production-read", {"environment": "production", "role": "read"}, 403),
    ("other-project", {"environment": "dev", "role": "read", "project_id": "{A}"}, 403),
    ("staging-write", {"environment": "staging", "role": "write"}, 201),
    ("staging-write", {"environment": "staging", "role": "read"}, 201),
    ("dev-write", {"environment": "dev", "role": "write", "project_id": "{A}"}, 201),
]


def test_no_escalation(api: Api, app: Any, world: World) -> None:
    for creator, body, status in ESCALATIONS:
        before = row_counts(app)
        r = api.post("/v1/keys", headers=world.headers(creator), json=world.body(body))
        if status == 201:
            assert r.status_code == 201, (creator, body, r.text)
            made = r.json()
            assert (made["environment"], made["role"]) == (body["environment"], body["role"])
            assert made["project_id"] == world.a.id
        else:
            assert_error(r, status, code="forbidden")
            assert row_counts(app) == before, (creator, body)
