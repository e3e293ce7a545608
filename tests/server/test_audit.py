"""The audit log: every change with its actor (key prefix), target, before/after and time;
scoped to the key's project."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.helpers import assert_error, quick_client
from tests.support import Api, Project

EVENT_FIELDS = {
    "id",
    "project_id",
    "actor",
    "action",
    "target_type",
    "target",
    "before",
    "after",
    "created_at",
}


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield from quick_client(app)


def _prefix(key: str) -> str:
    return key.rsplit("_", 1)[0]


def _events(api: Api, key: str, **params: Any) -> list[dict[str, Any]]:
    r = api.as_(key).get("/v1/audit", params={"limit": 200, **params})
    assert r.status_code == 200, r.text
    return list(r.json()["data"])


def _one(events: list[dict[str, Any]], action: str, target: str | None = None) -> dict[str, Any]:
    found = [e for e in events if e["action"] == action and target in (None, e["target"])]
    assert len(found) == 1, (action, target, found)
    return found[0]


def test_every_change_is_recorded_with_actor_and_before_after(api: Api, admin_key: str) -> None:
    created = api.as_(admin_key).post("/v1/projects", json={"name": "Audited"}).json()
    pid = created["project"]["id"]
    writer = created["api_key"]["key"]
    admin_prefix = _prefix(admin_key)
    w = api.as_(writer)
    reader = api.new_key(writer, "dev", "read", name="app")
    staging = api.new_key(admin_key, "staging", "write", project_id=pid)
    api.new_prompt(writer, "greeting", description="first")
    assert w.patch("/v1/prompts/greeting", json={"name": "Hello"}).status_code == 200
    api.new_version(writer, commit_message="one", model="gpt-4o")
    api.new_version(writer, commit_message="two")
    staging_w = api.as_(staging)
    staging_w.post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
    staging_w.post("/v1/prompts/greeting/deployments/staging", json={"version": 2})
    staging_w.post("/v1/prompts/greeting/deployments/staging/rollback")
    w.delete(f"/v1/keys/{_prefix(reader)}")

    events = _events(api, writer)
    assert all(set(e) == EVENT_FIELDS for e in events)
    assert all(e["project_id"] == pid for e in events)
    ids = [e["id"] for e in events]
    assert ids == sorted(ids, reverse=True), "newest first"
    times = [datetime.fromisoformat(e["created_at"].replace("Z", "+00:00")) for e in events]
    assert times == sorted(times, reverse=True)
    assert all(t.tzinfo is not None for t in times)

    e = _one(events, "project.created")
    assert (e["actor"], e["target_type"], e["target"]) == (admin_prefix, "project", pid)
    assert e["after"] == {"name": "Audited", "initial_key": created["api_key"]["prefix"]}

    e = _one(events, "key.created", _prefix(reader))
    assert (e["actor"], e["target_type"]) == (created["api_key"]["prefix"], "api_key")
    assert e["after"] == {"environment": "dev", "role": "read", "name": "app"}
    e = _one(events, "key.created", _prefix(staging))
    assert e["actor"] == admin_prefix
    assert e["after"]["environment"] == "staging" and e["after"]["role"] == "write"
    # Neither the key nor its hash is ever in the log.
    text = api.as_(writer).get("/v1/audit").text
    assert reader not in text and staging not in text and "$2b$" not in text

    e = _one(events, "key.revoked", _prefix(reader))
    assert e["actor"] == created["api_key"]["prefix"]

    e = _one(events, "prompt.created", "greeting")
    assert e["target_type"] == "prompt"
    assert e["after"] == {"name": "Greeting", "description": "first", "type": "chat"}
    e = _one(events, "prompt.updated", "greeting")
    assert (e["before"], e["after"]) == ({"name": "Greeting"}, {"name": "Hello"})

    versions = [x for x in events if x["action"] == "version.created"]
    assert [(v["after"]["version"], v["after"]["commit_message"]) for v in versions] == [
        (2, "two"),
        (1, "one"),
    ]
    assert versions[1]["after"]["model"] == "gpt-4o"
    assert all(v["actor"] == created["api_key"]["prefix"] for v in versions)

    auto = [x for x in events if x["action"] == "deployment.auto"]
    assert [(a["before"], a["after"]) for a in auto] == [
        ({"version": 1}, {"version": 2}),
        ({"version": None}, {"version": 1}),
    ]
    assert {a["target"] for a in auto} == {"greeting:dev"}
    promotes = [x for x in events if x["action"] == "deployment.promote"]
    assert [(p["before"], p["after"]) for p in promotes] == [
        ({"version": 1}, {"version": 2}),
        ({"version": None}, {"version": 1}),
    ]
    assert all(p["actor"] == _prefix(staging) for p in promotes)
    assert all(p["target"] == "greeting:staging" for p in promotes)
    e = _one(events, "deployment.rollback")
    assert (e["before"], e["after"], e["actor"]) == (
        {"version": 2},
        {"version": 1},
        _prefix(staging),
    )
    assert len(events) == 13


def test_audit_filters_and_pagination(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    for _ in range(4):
        api.new_version(project.key)
    w = api.as_(project.key)
    only = _events(api, project.key, action="version.created")
    assert [e["after"]["version"] for e in only] == [4, 3, 2, 1]
    assert _events(api, project.key, action="no.such_action") == []
    everything = _events(api, project.key)
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 3}
    for _ in range(10):
        page = w.get("/v1/audit", params=params).json()
        seen += [e["id"] for e in page["data"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [e["id"] for e in everything]
    assert_error(w.get("/v1/audit", params={"action": "Bad Action"}), 422, field="action")


def test_reads_and_refusals_are_not_changes(
    api: Api, project: Project, keys: dict[str, str]
) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    before = _events(api, project.key)
    reader = api.as_(keys["dev-read"])
    reader.get("/v1/prompts")
    reader.get("/v1/prompts/greeting/active")
    reader.post("/v1/prompts", json={"slug": "x", "name": "X"})  # 403
    api.as_(project.key).post("/v1/prompts", json={"slug": "greeting", "name": "G"})  # 409
    api.as_(project.key).post(
        "/v1/prompts/greeting/deployments/dev", json={"version": 1}
    )  # already active: no change
    api.as_(project.key).post("/v1/prompts/greeting/deployments/dev/rollback")  # 409
    assert _events(api, project.key) == before
    # A read key may read the log.
    assert _events(api, keys["dev-read"]) == before


def test_audit_is_scoped_to_the_project(
    api: Api, admin_key: str, project: Project, other: Project
) -> None:
    api.new_prompt(project.key, "secret-a")
    api.new_version(project.key, "secret-a")
    api.new_key(project.key, "dev", "read")
    api.new_prompt(other.key, "b-only")
    a_events = _events(api, project.key)
    b_events = _events(api, other.key)
    assert a_events and b_events
    assert {e["project_id"] for e in a_events} == {project.id}
    assert {e["project_id"] for e in b_events} == {other.id}
    b_text = api.as_(other.key).get("/v1/audit", params={"limit": 200}).text
    assert "secret-a" not in b_text and project.id not in b_text
    assert project.prefix not in b_text
    assert_error(api.as_(other.key).get("/v1/audit", params={"project_id": project.id}), 403)
    # The admin sees one project when it names one, everything when it does not.
    named = _events(api, admin_key, project_id=project.id)
    assert [e["id"] for e in named] == [e["id"] for e in a_events]
    everything = _events(api, admin_key)
    assert {e["id"] for e in a_events} | {e["id"] for e in b_events} < {e["id"] for e in everything}
    assert any(e["action"] == "admin_key.created" for e in everything)
    assert_error(api.get("/v1/audit"), 401)
