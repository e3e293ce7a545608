"""Agents in the dashboard: their list (and never among prompts, nor prompts among them),
an agent's page with its workflow, a version's page, and promote, roll back and change
requests through the prompts' own pages and services."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.dashboard.support import Person, Site
from tests.support import Api, Project

WORKFLOW: dict[str, Any] = {
    "inputs": [{"name": "ticket", "type": "string"}],
    "start": "classify",
    "steps": {
        "classify": {
            "type": "prompt",
            "prompt": "greeting",
            "variables": {"name": "inputs.ticket"},
            "next": "route",
        },
        "route": {
            "type": "branch",
            "cases": [{"when": "contains(steps.classify.output, 'refund')", "next": "review"}],
            "default": "notify",
        },
        "review": {"type": "wait", "prompt": "Refund it?", "timeout_seconds": 600},
        "notify": {"type": "http", "method": "POST", "url": "https://hooks.example.com/t"},
    },
    "output": "steps.classify.output",
}


@pytest.fixture
def agent(api: Api, project: Project, greeting: str) -> str:
    """An agent ``triage`` with versions 1 and 2 (v2 active in dev), beside the prompt
    ``greeting``."""
    a = api.as_(project.key)
    r = a.post("/v1/agents", json={"slug": "triage", "name": "Triage", "description": "Sorts"})
    assert r.status_code == 201, r.text
    for message in ("first", "second"):
        r = a.post("/v1/agents/triage/versions", json={**WORKFLOW, "commit_message": message})
        assert r.status_code in (200, 201), r.text
        WORKFLOW["max_steps"] = 50  # the second differs
    WORKFLOW.pop("max_steps")
    return "triage"


def test_agents_and_prompts_each_list_only_their_own(
    site: Site, people: dict[str, Person], project: Project, agent: str, greeting: str
) -> None:
    b = site.signed_in(people["viewer"])
    agents_page = b.get(f"/p/{project.id}/agents")
    assert agents_page.status_code == 200
    assert f'href="/p/{project.id}/agents/triage"' in agents_page.text
    assert "Sorts" in agents_page.text and "v1 … v2" in agents_page.text
    assert "greeting" not in agents_page.text
    assert re.search(r"env-dev\">dev · v2", agents_page.text)
    prompts_page = b.get(f"/p/{project.id}/prompts").text
    assert "greeting" in prompts_page and "triage" not in prompts_page
    assert "triage" not in b.get(f"/p/{project.id}/prompts?q=tri").text
    # Each page answers only for its own kind (an agent has no chat editor, diff or version).
    for url in (
        "prompts/triage",
        "prompts/triage/versions/1",
        "prompts/triage/diff",
        "prompts/triage/promote",
        "agents/greeting",
        "agents/greeting/versions/1",
        "agents/greeting/runs",
        "agents/greeting/promote",
    ):
        assert b.get(f"/p/{project.id}/{url}").status_code == 404, url
    editor = site.signed_in(people["editor"])
    assert editor.get(f"/p/{project.id}/prompts/triage/edit").status_code == 404
    r = editor.post(f"/p/{project.id}/prompts/triage/edit", {"user_template": "x", "model": "m"})
    assert r.status_code == 404


def test_an_agents_page_shows_versions_environments_and_the_workflow(
    site: Site, people: dict[str, Person], project: Project, agent: str
) -> None:
    b = site.signed_in(people["viewer"])
    page = b.get(f"/p/{project.id}/agents/triage").text
    assert "Triage" in page and "second" in page and "first" in page
    # The workflow in the order a run meets it, with the edges as links.
    order = re.findall(r'<li class="wf-step" id="step-(\w+)"', page)
    assert order == ["classify", "route", "review", "notify"]
    assert "prompt greeting (the version active in the environment)" in page
    assert "when contains(steps.classify.output, &#39;refund&#39;)" in page
    assert 'otherwise</span> <a href="#step-notify">notify</a>' in page
    assert "POST https://hooks.example.com/t" in page
    assert "Promote" not in page  # a viewer gets no controls
    version = b.get(f"/p/{project.id}/agents/triage/versions/1")
    assert version.status_code == 200
    assert "<code>ticket</code> (string)" in version.text  # inputs
    assert "<code>steps.classify.output</code>" in version.text  # output
    assert "Refund it?" in version.text and "600 s" in version.text
    # The same as a graph: a box per step, each edge an arrow with its label as title.
    graph = version.text.split('<svg class="wf-graph"', 1)[1].split("</svg>", 1)[0]
    assert graph.count('<rect class="wf-node') == 4
    assert "<title>route → notify: otherwise</title>" in graph
    assert "<title>classify → route: next</title>" in graph
    assert b.get(f"/p/{project.id}/agents/triage/versions/9").status_code == 404
    assert b.get(f"/p/{project.id}/agents/nope").status_code == 404


def test_agents_promote_and_roll_back_through_the_prompts_pages(
    site: Site, people: dict[str, Person], project: Project, agent: str, api: Api
) -> None:
    base = f"/p/{project.id}/agents/triage"
    viewer = site.signed_in(people["viewer"])
    assert (
        viewer.post(f"{base}/promote", {"version": "1", "environment": "staging"}).status_code
        == 403
    )
    b = site.signed_in(people["editor"])
    confirm = b.get(f"{base}/promote?version=1")
    assert confirm.status_code == 200 and f'action="{base}/promote"' in confirm.text
    r = b.post(f"{base}/promote", {"version": "1", "environment": "staging"})
    assert r.status_code == 303 and r.headers["location"] == base
    r = b.post(f"{base}/promote", {"version": "2", "environment": "staging"})
    assert r.status_code == 303
    got = api.as_(project.key).get("/v1/agents/triage").json()
    assert got["deployments"]["staging"] == 2
    bad = b.post(f"{base}/promote", {"version": "9", "environment": "staging"})
    assert bad.status_code == 404
    assert b.post(f"{base}/promote", {"version": "1", "environment": "moon"}).status_code == 422
    assert b.get(f"{base}/rollback?environment=staging").status_code == 200
    r = b.post(f"{base}/rollback", {"environment": "staging"})
    assert r.status_code == 303 and r.headers["location"] == base
    assert api.as_(project.key).get("/v1/agents/triage").json()["deployments"]["staging"] == 1
    page = b.get(base).text
    assert "v2 → v1" in page and "rollback" in page  # the deployment history
    assert (
        b.post(
            f"{base}/promote", {"version": "1", "environment": "staging"}, csrf=False
        ).status_code
        == 403
    )


def test_a_protected_environment_asks_approval_for_an_agent_and_shows_its_workflow_diff(
    site: Site, people: dict[str, Person], project: Project, agent: str, api: Api
) -> None:
    r = api.http.put(
        "/v1/environments/production",
        json={"protected": True},
        headers=people["owner"].headers(project.id),
    )
    assert r.status_code == 200, r.text
    base = f"/p/{project.id}/agents/triage"
    b = site.signed_in(people["admin"])
    r = b.post(f"{base}/promote", {"version": "2", "environment": "production"})
    assert r.status_code == 303
    page = b.get(base).text
    assert "Waiting for approval" in page
    request_id = re.search(r"review #(\d+)", page)
    assert request_id
    change = b.get(f"/p/{project.id}/changes/{request_id.group(1)}").text
    assert f'href="{base}"' in change  # the card links the agent's page, not a prompt's
    assert "Workflow" in change and "steps.review.prompt: Refund it?" in change
    assert "Messages" not in change
    own = b.post(f"/p/{project.id}/changes/{request_id.group(1)}/approve")
    assert own.status_code == 403  # nobody approves their own request
    other = site.signed_in(people["admin2"])
    r = other.post(f"/p/{project.id}/changes/{request_id.group(1)}/approve")
    assert r.status_code == 303
    assert api.as_(project.key).get("/v1/agents/triage").json()["deployments"]["production"] == 2


def test_other_projects_people_see_no_agent(
    site: Site, people: dict[str, Person], project: Project, agent: str
) -> None:
    b = site.signed_in(people["outsider"])
    for url in ("agents", "agents/triage", "agents/triage/runs", "agents/triage/versions/1"):
        assert b.get(f"/p/{project.id}/{url}").status_code == 404, url
    root = site.signed_in(people["root"])
    assert root.get(f"/p/{project.id}/agents/triage").status_code == 200
