"""Agents stored as prompts of type agent: versions, deployments (the prompts' own
services), 422 naming step and field, and prompt reads that never return an agent."""

from __future__ import annotations

from typing import Any

from tests.support import Api, Project

WORKFLOW: dict[str, Any] = {
    "inputs": [{"name": "question", "type": "string"}],
    "start": "answer",
    "steps": {
        "answer": {
            "type": "prompt",
            "prompt": "support-reply",
            "variables": {"question": "inputs.question"},
            "next": "route",
        },
        "route": {
            "type": "branch",
            "cases": [{"when": "steps.answer.output == 'ok'", "next": "notify"}],
        },
        "notify": {"type": "http", "url": "http://127.0.0.1:9/x", "body": "{{inputs.question}}"},
    },
    "output": "steps.answer.output",
}


def _agent(api: Api, key: str, slug: str = "helper") -> None:
    r = api.as_(key).post("/v1/agents", json={"slug": slug, "name": "Helper"})
    assert r.status_code == 201, r.text


def _key(api: Api, admin_key: str, project: Project, env: str, role: str) -> str:
    return api.new_key(admin_key, env, role, project_id=project.id)


def test_versions_deploy_promote_and_roll_back_like_prompts(
    api: Api, project: Project, admin_key: str
) -> None:
    key = project.key
    _agent(api, key)
    a = api.as_(key)
    prod = api.as_(_key(api, admin_key, project, "production", "write"))
    r = a.post("/v1/agents/helper/versions", json={**WORKFLOW, "commit_message": "first"})
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 1
    assert r.json()["definition"]["steps"]["answer"]["prompt"] == "support-reply"
    again = a.post("/v1/agents/helper/versions", json=WORKFLOW)
    assert again.status_code == 200 and again.json()["created"] is False
    second = {**WORKFLOW, "output": "steps.answer"}
    assert a.post("/v1/agents/helper/versions", json=second).json()["version"] == 2
    # the prompts' deployment service: promote, then roll back
    r = prod.post("/v1/prompts/helper/deployments/production", json={"version": 1})
    assert r.status_code == 200, r.text
    r = prod.post("/v1/prompts/helper/deployments/production", json={"version": 2})
    assert r.status_code == 200, r.text
    assert prod.post("/v1/prompts/helper/deployments/production/rollback").status_code == 200
    got = a.get("/v1/agents/helper").json()
    assert got["deployments"] == {"dev": 2, "staging": None, "production": 1}
    assert [v["version"] for v in a.get("/v1/agents/helper/versions").json()["data"]] == [2, 1]
    assert a.get("/v1/agents/helper/versions/1").json()["commit_message"] == "first"
    assert a.get("/v1/agents/helper/versions/9").status_code == 404
    audit = api.as_(key).get("/v1/audit").json()["data"]
    assert any(e["action"] == "version.created" and e["target"] == "helper" for e in audit)


def test_a_bad_workflow_is_refused_naming_step_and_field(api: Api, project: Project) -> None:
    _agent(api, project.key)
    bad = {**WORKFLOW, "steps": {**WORKFLOW["steps"]}}
    bad["steps"]["route"] = {"type": "branch", "cases": [{"when": "true", "next": "nowhere"}]}
    r = api.as_(project.key).post("/v1/agents/helper/versions", json=bad)
    assert r.status_code == 422
    assert r.json()["error"]["field"] == "steps.route.cases.0.next", r.text
    wrong_type = {**WORKFLOW, "steps": {**WORKFLOW["steps"], "notify": {"type": "http"}}}
    r = api.as_(project.key).post("/v1/agents/helper/versions", json=wrong_type)
    assert r.status_code == 422 and r.json()["error"]["field"] == "steps.notify.url", r.text
    assert api.as_(project.key).get("/v1/agents/helper").json()["latest_version"] == 0


def test_prompt_reads_never_return_an_agent(api: Api, project: Project) -> None:
    key = project.key
    _agent(api, key)
    a = api.as_(key)
    assert a.post("/v1/agents/helper/versions", json=WORKFLOW).status_code == 201
    api.new_prompt(key, "greeting")
    assert [p["slug"] for p in a.get("/v1/prompts").json()["data"]] == ["greeting"]
    assert [p["slug"] for p in a.get("/v1/agents").json()["data"]] == ["helper"]
    for url in ("/v1/prompts/helper", "/v1/prompts/helper/versions", "/v1/prompts/helper/active"):
        assert a.get(url).status_code == 404, url
    r = a.post("/v1/prompts/helper/versions", json={"model": "m", "user_template": "x"})
    assert r.status_code == 422 and r.json()["error"]["field"] == "slug"
    assert a.get("/v1/agents/greeting").status_code == 404  # a prompt is not an agent
    assert a.post("/v1/agents/greeting/versions", json=WORKFLOW).status_code == 404


def test_permissions(api: Api, project: Project, admin_key: str) -> None:
    _agent(api, project.key)
    read = _key(api, admin_key, project, "production", "read")
    r = api.as_(read).post("/v1/agents/helper/versions", json=WORKFLOW)
    assert r.status_code == 403
    assert api.as_(read).get("/v1/agents/helper").status_code == 200
    other = api.new_project(admin_key, "Other")
    assert api.as_(other.key).get("/v1/agents/helper").status_code == 404
    assert api.as_(other.key).post("/v1/agents/helper/versions", json=WORKFLOW).status_code == 404
