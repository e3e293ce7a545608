"""Agent runs in the dashboard, executed by the server's embedded engine: the list (filter
by status, pages), a run's timeline, input for a waiting run (JSON checked: nothing sent
when it is not), cancel, and who may do what."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from promptops.contract.agent_runs import RunCreate
from promptops.db.models import User
from promptops.domain import agent_runs, users
from tests.dashboard.support import Person, Site
from tests.support import Api, Project

REVIEW: dict[str, Any] = {
    "inputs": [{"name": "ticket", "type": "string"}],
    "start": "review",
    "steps": {"review": {"type": "wait", "prompt": "Refund it?", "timeout_seconds": 600}},
    "output": "steps.review.output",
}


@pytest.fixture
def review(api: Api, project: Project) -> str:
    a = api.as_(project.key)
    assert a.post("/v1/agents", json={"slug": "review", "name": "Review"}).status_code == 201
    assert a.post("/v1/agents/review/versions", json=REVIEW).status_code == 201
    return "review"


def _start(api: Api, project: Project, ticket: str) -> str:
    body = {"inputs": {"ticket": ticket}, "version": 1}
    r = api.as_(project.key).post("/v1/agents/review/runs", json=body)
    assert r.status_code == 202, r.text
    return str(r.json()["run_id"])


def _until(api: Api, project: Project, run_id: str, *statuses: str) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        body = api.as_(project.key).get(f"/v1/agents/review/runs/{run_id}").json()
        if body["status"] in statuses:
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"run {run_id} still {body['status']}")


def test_input_to_a_waiting_run_is_checked_then_sent_and_cancel_stops_another(
    site: Site, people: dict[str, Person], project: Project, review: str, api: Api
) -> None:
    first, second = _start(api, project, "order 1"), _start(api, project, "order 2")
    _until(api, project, first, "waiting")
    _until(api, project, second, "waiting")
    base = f"/p/{project.id}/agents/review/runs"

    viewer = site.signed_in(people["viewer"])
    page = viewer.get(f"{base}/{first}")
    assert page.status_code == 200 and "waiting" in page.text and "Refund it?" not in page.text
    assert "Send input" not in page.text and "Cancel run" not in page.text
    assert viewer.post(f"{base}/{first}/input", {"input": "true"}).status_code == 403
    assert viewer.post(f"{base}/{first}/cancel").status_code == 403

    b = site.signed_in(people["editor"])
    page = b.get(f"{base}/{first}").text
    assert "Refund it?" in page and "Send input" in page and "Cancel run" in page
    assert '<li class="tl-step" data-step="review" data-status="waiting">' in page
    bad = b.post(f"{base}/{first}/input", {"input": '{"approved": tru'})
    assert bad.status_code == 422
    assert "input: not valid JSON" in bad.text and "nothing was sent" in bad.text
    assert "{&#34;approved&#34;: tru</textarea>" in bad.text  # kept for fixing
    assert b.post(f"{base}/{first}/input", {"input": "  "}).status_code == 422
    assert b.post(f"{base}/{first}/input", {"input": "1"}, csrf=False).status_code == 403
    assert _until(api, project, first, "waiting")["steps"][0]["status"] == "waiting"

    sent = b.post(f"{base}/{first}/input", {"input": '{"approved": true}'})
    assert sent.status_code == 303 and sent.headers["location"] == f"{base}/{first}?sent=review"
    done = _until(api, project, first, "succeeded", "failed")
    assert done["status"] == "succeeded" and done["output"] == {"approved": True}
    page = b.get(f"{base}/{first}").text
    assert '<li class="tl-step" data-step="review" data-status="succeeded">' in page
    assert "&#34;approved&#34;: true" in page and "Cancel run" not in page
    again = b.post(f"{base}/{first}/input", {"input": "1"})
    assert again.status_code == 409 and "not waiting for input" in again.text
    assert b.post(f"{base}/{first}/cancel").status_code == 409

    r = b.post(f"{base}/{second}/cancel")
    assert r.status_code == 303
    assert (
        _until(api, project, second, "cancelled")["error"] == "cancelled by user:editor@example.com"
    )
    assert "cancelled" in b.get(f"{base}/{second}").text

    runs = b.get(f"{base}").text
    assert first in runs and second in runs
    filtered = b.get(f"{base}?status=cancelled").text
    assert second in filtered and first not in filtered
    assert b.get(f"{base}?status=lost").status_code == 400
    assert b.get(f"{base}/run_0000000000000000").status_code == 404
    outsider = site.signed_in(people["outsider"])
    assert outsider.get(f"{base}/{first}").status_code == 404


def test_runs_come_in_pages_of_fifty_newest_first(
    app: Any, site: Site, people: dict[str, Person], project: Project, review: str
) -> None:
    """Queued runs recorded through the service (none is handed to the engine)."""
    body = RunCreate(version=1, inputs={"ticket": "t"})
    with app.state.db.write() as session:
        owner = session.get(User, people["owner"].user_id)
        actor = users.actor_for(owner, project.id, "owner")
        made = [
            agent_runs.start_run(session, actor, "review", body, allow_private=False)[0].id
            for _ in range(51)
        ]
    b = site.signed_in(people["viewer"])
    base = f"/p/{project.id}/agents/review/runs"
    page = b.get(base).text
    shown = re.findall(r'<tr data-run="(run_\w+)">', page)
    assert len(shown) == 50 and shown == sorted(made, reverse=True)[:50]
    older = re.search(r'href="([^"]+cursor=run_\w+)">Older runs', page)
    assert older
    rest = re.findall(r'<tr data-run="(run_\w+)">', b.get(older.group(1)).text)
    assert rest == [min(made)]
