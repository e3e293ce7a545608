"""Deployments: auto-deploy to dev, promote, roll back (a stack), history, the active read."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.helpers import assert_error, quick_client, row_counts
from tests.support import Api, Project

ACTIVE = "/v1/prompts/greeting/active"
# The active read is answered by the raw ASGI fast path; with a query string it goes
# through the FastAPI route. Both must agree.
VIAS = pytest.mark.parametrize("via", ["", "?via=route"], ids=["hotpath", "route"])


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield from quick_client(app)


def _history(api: Api, key: str, env: str) -> list[dict[str, Any]]:
    r = api.as_(key).get(f"/v1/prompts/greeting/deployments/{env}/history")
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def _active_version(api: Api, key: str, via: str = "") -> int | None:
    r = api.as_(key).get(ACTIVE + via)
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return int(r.json()["version"])


def _deployed(api: Api, key: str) -> dict[str, int | None]:
    r = api.as_(key).get("/v1/prompts/greeting/deployments")
    assert r.status_code == 200, r.text
    envs = r.json()["environments"]
    return {env: None if row is None else row["version"] for env, row in envs.items()}


def test_new_versions_auto_deploy_to_dev_only(
    api: Api, project: Project, keys: dict[str, str]
) -> None:
    api.new_prompt(project.key)
    assert _deployed(api, project.key) == {"dev": None, "staging": None, "production": None}
    api.new_version(project.key)
    api.new_version(project.key)
    assert _deployed(api, project.key) == {"dev": 2, "staging": None, "production": None}
    history = _history(api, project.key, "dev")
    assert [(h["version"], h["previous_version"], h["action"]) for h in history] == [
        (2, 1, "auto"),
        (1, None, "auto"),
    ]
    assert all(h["actor"] == project.prefix and h["environment"] == "dev" for h in history)
    assert _history(api, project.key, "staging") == []
    assert _active_version(api, keys["staging-read"]) is None
    body = api.as_(project.key).get("/v1/prompts/greeting/deployments").json()
    assert body["slug"] == "greeting"
    dev = body["environments"]["dev"]
    assert dev["deployment_id"] == history[0]["id"] and dev["deployed_at"]


@VIAS
def test_promote_by_version_and_from_environment(
    api: Api, project: Project, keys: dict[str, str], via: str
) -> None:
    api.new_prompt(project.key)
    for _ in range(3):
        api.new_version(project.key)
    staging = api.as_(keys["staging-write"])
    r = staging.post("/v1/prompts/greeting/deployments/staging", json={"version": 2})
    assert r.status_code == 200, r.text
    row = r.json()
    assert (row["environment"], row["version"], row["previous_version"]) == ("staging", 2, None)
    assert (row["action"], row["actor"]) == ("promote", keys["staging-write"].rsplit("_", 1)[0])
    assert _active_version(api, keys["staging-read"], via) == 2
    prod = api.as_(keys["production-write"])
    r = prod.post(
        "/v1/prompts/greeting/deployments/production", json={"from_environment": "staging"}
    )
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["action"]) == (2, "promote")
    assert _active_version(api, keys["production-read"], via) == 2
    assert _deployed(api, project.key) == {"dev": 3, "staging": 2, "production": 2}
    # Dev reads are unaffected by the other environments.
    assert _active_version(api, keys["dev-read"], via) == 3


def test_promote_errors_store_nothing(
    api: Api, project: Project, keys: dict[str, str], app: Any
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    prod = api.as_(keys["production-write"])
    url = "/v1/prompts/greeting/deployments/production"
    before = row_counts(app)
    assert_error(prod.post(url, json={"version": 9}), 404, field="version")
    assert_error(
        prod.post(url, json={"from_environment": "staging"}), 409, field="from_environment"
    )
    assert_error(prod.post(url, json={}), 422, field="version")
    assert_error(prod.post(url, json={"version": 1, "from_environment": "dev"}), 422)
    assert_error(prod.post(url, json={"version": 0}), 422, field="version")
    assert_error(prod.post(url, json={"version": "1"}), 422, field="version")
    assert_error(prod.post(url, json={"from_environment": "qa"}), 422, field="from_environment")
    assert_error(prod.post(url, json={"env": "dev"}), 422, field="env")
    assert_error(prod.post("/v1/prompts/greeting/deployments/qa", json={"version": 1}), 422)
    assert_error(prod.post("/v1/prompts/nope/deployments/production", json={"version": 1}), 404)
    assert row_counts(app) == before
    assert _active_version(api, keys["production-read"]) is None


def test_promoting_the_active_version_changes_nothing(
    api: Api, project: Project, keys: dict[str, str], app: Any
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    api.new_version(project.key)
    staging = api.as_(keys["staging-write"])
    first = staging.post("/v1/prompts/greeting/deployments/staging", json={"version": 1}).json()
    before = row_counts(app)
    etag = api.as_(keys["staging-read"]).get(ACTIVE).headers["etag"]
    for body in ({"version": 1}, {"from_environment": "staging"}):
        r = staging.post("/v1/prompts/greeting/deployments/staging", json=body)
        assert r.status_code == 200 and r.json() == first
    # Dev already runs v2: promoting v2 into dev (by number or from dev) is a no-op too.
    dev_rows = _history(api, project.key, "dev")
    for body in ({"version": 2}, {"from_environment": "dev"}):
        r = api.as_(project.key).post("/v1/prompts/greeting/deployments/dev", json=body)
        assert r.status_code == 200 and r.json() == dev_rows[0]
    assert row_counts(app) == before  # no history row, no audit event
    assert len(_history(api, keys["staging-read"], "staging")) == 1
    assert api.as_(keys["staging-read"]).get(ACTIVE).headers["etag"] == etag


@VIAS
def test_rollback_walks_back_like_a_stack(api: Api, project: Project, via: str) -> None:
    api.new_prompt(project.key)
    w = api.as_(project.key)
    for _ in range(3):
        api.new_version(project.key)
    assert _active_version(api, project.key, via) == 3
    rollback = "/v1/prompts/greeting/deployments/dev/rollback"
    r = w.post(rollback)
    assert r.status_code == 200, r.text
    assert (r.json()["version"], r.json()["previous_version"], r.json()["action"]) == (
        2,
        3,
        "rollback",
    )
    assert _active_version(api, project.key, via) == 2
    r = w.post(rollback)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert _active_version(api, project.key, via) == 1
    assert_error(w.post(rollback), 409, code="conflict")
    assert _active_version(api, project.key, via) == 1
    history = _history(api, project.key, "dev")
    assert [(h["version"], h["previous_version"], h["action"]) for h in history] == [
        (1, 2, "rollback"),
        (2, 3, "rollback"),
        (3, 2, "auto"),
        (2, 1, "auto"),
        (1, None, "auto"),
    ]
    ids = [h["id"] for h in history]
    assert ids == sorted(ids, reverse=True)  # newest first
    assert all(h["actor"] == project.prefix for h in history)


def test_rollback_after_promote_returns_to_what_was_before(
    api: Api, project: Project, keys: dict[str, str]
) -> None:
    api.new_prompt(project.key)
    for _ in range(3):
        api.new_version(project.key)
    prod = api.as_(keys["production-write"])
    url = "/v1/prompts/greeting/deployments/production"
    assert_error(prod.post(url + "/rollback"), 409)  # nothing deployed at all
    prod.post(url, json={"version": 1})
    assert_error(prod.post(url + "/rollback"), 409)  # nothing before v1
    prod.post(url, json={"version": 3})
    prod.post(url, json={"version": 2})
    assert prod.post(url + "/rollback").json()["version"] == 3
    assert _active_version(api, keys["production-read"]) == 3
    assert prod.post(url + "/rollback").json()["version"] == 1
    assert_error(prod.post(url + "/rollback"), 409)
    # Promoting after a rollback starts a new step on the stack.
    prod.post(url, json={"version": 2})
    assert prod.post(url + "/rollback").json()["version"] == 1
    history = _history(api, keys["production-read"], "production")
    assert [h["action"] for h in history] == [
        "rollback",
        "promote",
        "rollback",
        "rollback",
        "promote",
        "promote",
        "promote",
    ]
    # Other environments were never touched.
    assert _deployed(api, project.key) == {"dev": 3, "staging": None, "production": 1}


def test_history_pagination(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    for _ in range(5):
        api.new_version(project.key)
    w = api.as_(project.key)
    url = "/v1/prompts/greeting/deployments/dev/history"
    first = w.get(url, params={"limit": 2}).json()
    assert [h["version"] for h in first["data"]] == [5, 4]
    assert first["next_cursor"] == first["data"][-1]["id"]
    rest = w.get(url, params={"limit": 10, "cursor": first["next_cursor"]}).json()
    assert [h["version"] for h in rest["data"]] == [3, 2, 1]
    assert rest["next_cursor"] is None
    assert_error(w.get("/v1/prompts/greeting/deployments/qa/history"), 422, field="environment")
    assert_error(w.get("/v1/prompts/nope/deployments/dev/history"), 404)


@VIAS
def test_etag_and_conditional_reads(
    api: Api, project: Project, keys: dict[str, str], via: str
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    reader = api.as_(keys["dev-read"])
    url = ACTIVE + via
    r1 = reader.get(url)
    assert r1.status_code == 200
    tag1 = r1.headers["etag"]
    assert tag1.startswith('"') and tag1.endswith('"') and len(tag1) > 2
    assert r1.headers["cache-control"] == "no-cache"
    assert reader.get(url).headers["etag"] == tag1  # stable while nothing changes
    for inm in (tag1, f"W/{tag1}", f'"nope", {tag1}', f'"a",W/{tag1} , "b"', "*"):
        r = reader.get(url, headers={"If-None-Match": inm})
        assert r.status_code == 304, (inm, r.status_code)
        assert r.content == b""
        assert r.headers["etag"] == tag1
    for stale in ('"nope"', tag1[:-2] + '"', "W/", ""):
        r = reader.get(url, headers={"If-None-Match": stale})
        assert r.status_code == 200 and r.json()["version"] == 1, stale
    # A new version changes the tag; the old tag now gets the full body.
    api.new_version(project.key, user_template="second")
    r2 = reader.get(url, headers={"If-None-Match": tag1})
    assert r2.status_code == 200 and r2.json()["version"] == 2
    tag2 = r2.headers["etag"]
    assert tag2 != tag1
    assert reader.get(url, headers={"If-None-Match": tag2}).status_code == 304
    # Rolling back to v1 is a new deployment: a new tag again, with v1's content.
    assert api.as_(project.key).post("/v1/prompts/greeting/deployments/dev/rollback").is_success
    r3 = reader.get(url, headers={"If-None-Match": tag2})
    assert r3.status_code == 200 and r3.json()["version"] == 1
    assert r3.headers["etag"] not in (tag1, tag2)
    # Errors carry no ETag and are never "not modified".
    r = api.as_(keys["production-read"]).get(url, headers={"If-None-Match": "*"})
    assert_error(r, 404)
    assert "etag" not in r.headers


def test_hot_path_and_route_serve_the_same_bytes(
    api: Api, project: Project, keys: dict[str, str]
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key, metadata={"k": "v"}, commit_message="m")
    fast = api.as_(keys["dev-read"]).get(ACTIVE)
    slow = api.as_(keys["dev-read"]).get(ACTIVE + "?x=1")
    assert fast.status_code == slow.status_code == 200
    assert fast.content == slow.content
    assert fast.headers["etag"] == slow.headers["etag"]
    body = fast.json()
    assert body["environment"] == "dev" and body["deployment_id"] and body["deployed_at"]
    assert (body["metadata"], body["commit_message"]) == ({"k": "v"}, "m")


def test_active_reflects_every_change_immediately(
    api: Api, project: Project, keys: dict[str, str]
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    staging_w = api.as_(keys["staging-write"])
    readers = {"dev": keys["dev-read"], "staging": keys["staging-read"]}
    expected: dict[str, int | None] = {"dev": 1, "staging": None}

    def check() -> None:
        for env, key in readers.items():
            for via in ("", "?via=route"):
                assert _active_version(api, key, via) == expected[env], (env, via)

    check()  # also fills the in-memory snapshot
    steps = [
        ("dev", lambda: api.new_version(project.key), 2),
        ("staging", lambda: staging_w.post("/v1/prompts/greeting/deployments/staging",
                                           json={"version": 1}), 1),
        ("staging", lambda: staging_w.post("/v1/prompts/greeting/deployments/staging",
                                           json={"from_environment": "dev"}), 2),
        ("staging", lambda: staging_w.post("/v1/prompts/greeting/deployments/staging/rollback"),
         1),
        ("dev", lambda: api.as_(project.key).post(
            "/v1/prompts/greeting/deployments/dev", json={"version": 1}), 1),
        ("dev", lambda: api.as_(project.key).post(
            "/v1/prompts/greeting/deployments/dev/rollback"), 2),
    ]  # fmt: skip
    for env, action, version in steps:
        action()
        expected[env] = version
        check()
