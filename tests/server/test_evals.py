"""Eval results through the API: recorded and listed, bounded and validated (a bad body is
a 422 naming the field and stores nothing). Who may do it: tests/server/test_key_matrix.py."""

from __future__ import annotations

from typing import Any

import pytest

from tests.server.helpers import assert_error, row_counts
from tests.support import Api, Project

URL = "/v1/prompts/greeting/versions/1/evals"


@pytest.fixture
def greeting(api: Api, project: Project) -> str:
    api.new_prompt(project.key)
    api.new_version(project.key)
    api.new_version(project.key)
    return "greeting"


def test_recorded_results_are_listed_newest_first(
    api: Api, project: Project, greeting: str, admin_key: str
) -> None:
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    body = {
        "name": "tone (unit)",
        "score": 1,
        "passed": True,
        "threshold": 0.5,
        "details": {"tests": 3, "cases": [{"id": "a", "ok": True}]},
        "url": "https://ci.example.com/run/1",
        "ci_run_id": "run-1",
        "commit": "0123abc",
    }
    r = api.as_(staging).post(URL, json=body)
    assert r.status_code == 201, r.text
    first = r.json()
    assert {k: first[k] for k in body} == {**body, "score": 1.0}
    assert (first["slug"], first["version"], first["created_by"]) == ("greeting", 1, staging[:16])
    second = api.as_(project.key).post(URL, json={"name": "safety", "score": 0.2, "passed": False})
    assert second.status_code == 201
    assert second.json()["details"] is None and second.json()["url"] is None
    reader = api.new_key(admin_key, "production", "read", project_id=project.id)
    listed = api.as_(reader).get(URL).json()
    assert [e["id"] for e in listed["data"]] == [second.json()["id"], first["id"]]
    assert listed["next_cursor"] is None
    page = api.as_(reader).get(URL, params={"limit": 1}).json()
    assert page["data"][0]["name"] == "safety" and page["next_cursor"] == second.json()["id"]
    rest = api.as_(reader).get(URL, params={"limit": 1, "cursor": page["next_cursor"]}).json()
    assert [e["name"] for e in rest["data"]] == ["tone (unit)"]
    # Version 2 has none of them.
    assert api.as_(reader).get("/v1/prompts/greeting/versions/2/evals").json()["data"] == []
    audit = api.as_(admin_key).get("/v1/audit", params={"project_id": project.id}).json()
    created = [e for e in audit["data"] if e["action"] == "eval_result.created"]
    assert [e["target"] for e in created] == ["greeting:1", "greeting:1"]


GOOD = {"name": "quality", "score": 0.5, "passed": True}
BAD: list[tuple[dict[str, Any], str]] = [
    ({k: v for k, v in GOOD.items() if k != "name"}, "name"),
    ({**GOOD, "name": ""}, "name"),
    ({**GOOD, "name": "x" * 101}, "name"),
    ({**GOOD, "name": "two  spaces"}, "name"),
    ({**GOOD, "name": " padded"}, "name"),
    ({**GOOD, "name": "new\nline"}, "name"),
    ({**GOOD, "name": "<script>"}, "name"),
    ({**GOOD, "score": "0.5"}, "score"),
    ({**GOOD, "score": None}, "score"),
    ({**GOOD, "score": 1e300}, "score"),
    ({**GOOD, "passed": "yes"}, "passed"),
    ({**GOOD, "passed": 1}, "passed"),
    ({**GOOD, "threshold": "high"}, "threshold"),
    ({**GOOD, "details": [1, 2]}, "details"),
    ({**GOOD, "details": {"big": "x" * 40_000}}, "details"),
    ({**GOOD, "details": {"nul": "a\x00b"}}, "details"),
    ({**GOOD, "url": "javascript:alert(1)"}, "url"),
    ({**GOOD, "url": "ftp://example.com/x"}, "url"),
    ({**GOOD, "url": "https://x.example/" + "a" * 2048}, "url"),
    ({**GOOD, "ci_run_id": "r" * 201}, "ci_run_id"),
    ({**GOOD, "ci_run_id": 7}, "ci_run_id"),
    ({**GOOD, "commit": "not-a-sha"}, "commit"),
    ({**GOOD, "commit": "abc"}, "commit"),
    ({**GOOD, "extra": 1}, "extra"),
]


def test_bad_bodies_name_the_field_and_store_nothing(
    app: Any, api: Api, project: Project, greeting: str
) -> None:
    before = row_counts(app)
    for body, field in BAD:
        r = api.as_(project.key).post(URL, json=body)
        detail = assert_error(r, 422)
        assert detail.get("field", "").split(".")[0] == field, (body, detail)
    assert_error(api.as_(project.key).post(URL, content=b"{nope"), 422)
    assert row_counts(app) == before


def test_unknown_prompt_and_version_are_404(api: Api, project: Project, greeting: str) -> None:
    key = api.as_(project.key)
    assert_error(key.post("/v1/prompts/nope/versions/1/evals", json=GOOD), 404)
    detail = assert_error(key.post("/v1/prompts/greeting/versions/3/evals", json=GOOD), 404)
    assert "no version 3" in detail["message"]
    assert_error(key.get("/v1/prompts/greeting/versions/3/evals"), 404)
    assert_error(key.post("/v1/prompts/greeting/versions/0/evals", json=GOOD), 422)
