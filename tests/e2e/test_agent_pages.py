"""Agents in a real browser: a run of an agent with a wait step, started through the API,
gets its input through the run page's form (bad JSON refused on the page first) and
succeeds in the timeline; another run is cancelled with the page's button."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Shots
from tests.e2e.test_dashboard import sign_in
from tests.support import LiveServer

pytestmark = pytest.mark.e2e

WORKFLOW = {
    "inputs": [{"name": "ticket", "type": "string"}],
    "start": "review",
    "steps": {
        "review": {"type": "wait", "prompt": "Refund this order?", "next": "check"},
        "check": {
            "type": "branch",
            "cases": [{"when": "steps.review.output.approved", "next": "done"}],
        },
        "done": {"type": "wait", "prompt": "Anything to add?", "timeout_seconds": 600},
    },
    "output": "steps.review.output",
}


def _seed(http: httpx.Client) -> tuple[str, str]:
    assert http.post("/v1/agents", json={"slug": "refunds", "name": "Refunds"}).is_success
    assert http.post("/v1/agents/refunds/versions", json=WORKFLOW).status_code == 201
    ids = []
    for ticket in ("order 1", "order 2"):
        body = {"inputs": {"ticket": ticket}, "version": 1}
        r = http.post("/v1/agents/refunds/runs", json=body)
        assert r.status_code == 202, r.text
        ids.append(r.json()["run_id"])
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        statuses = [http.get(f"/v1/agents/refunds/runs/{i}").json()["status"] for i in ids]
        if statuses == ["waiting", "waiting"]:
            return ids[0], ids[1]
        time.sleep(0.05)
    raise AssertionError(f"runs not waiting: {statuses}")


def test_send_input_to_a_waiting_run_and_cancel_another(
    browser: Any, server: tuple[LiveServer, str], shots: Shots
) -> None:
    live, admin_key = server
    admin = {"Authorization": f"Bearer {admin_key}"}
    r = httpx.post(f"{live.base_url}/v1/projects", json={"name": "Agents"}, headers=admin)
    assert r.status_code == 201, r.text
    project_id = r.json()["project"]["id"]
    key = {"Authorization": f"Bearer {r.json()['api_key']['key']}"}
    with httpx.Client(base_url=live.base_url, headers=key) as http:
        first, second = _seed(http)
        page = sign_in(browser, live.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
        try:
            page.goto(f"/p/{project_id}/agents")
            page.get_by_role("link", name="Refunds").click()
            expect(page.locator("#step-review")).to_contain_text("wait")
            page.get_by_role("link", name="v1", exact=True).first.click()
            expect(page.locator("svg.wf-graph rect.wf-node")).to_have_count(3)
            shots.take(page, "agent-version")
            page.get_by_role("link", name="Runs", exact=True).click()
            page.get_by_role("link", name=first).click()
            expect(page.locator("#run-status")).to_have_text("waiting")
            expect(page.get_by_text("Refund this order?")).to_be_visible()

            box = page.get_by_label("Input (JSON: the wait step's output)")
            box.fill('{"approved": tru')
            page.get_by_role("button", name="Send input").click()
            expect(page.locator("#input-error")).to_contain_text("not valid JSON")
            assert http.get(f"/v1/agents/refunds/runs/{first}").json()["status"] == "waiting"

            page.get_by_label("Input (JSON: the wait step's output)").fill('{"approved": true}')
            page.get_by_role("button", name="Send input").click()
            # The run goes on to the next wait step: the timeline shows the first succeeded.
            done = page.locator('.tl-step[data-step="review"]')
            expect(done).to_have_attribute("data-status", "succeeded", timeout=15_000)
            expect(done.locator(".step-output")).to_contain_text('"approved": true')
            expect(page.locator('.tl-step[data-step="check"]')).to_have_attribute(
                "data-status", "succeeded"
            )
            expect(page.get_by_text("Anything to add?")).to_be_visible()
            page.get_by_label("Input (JSON: the wait step's output)").fill('"no"')
            page.get_by_role("button", name="Send input").click()
            expect(page.locator("#run-status")).to_have_text("succeeded", timeout=15_000)
            expect(page.locator("#run-output")).to_contain_text('"approved": true')
            shots.take(page, "agent-run")

            page.goto(f"/p/{project_id}/agents/refunds/runs/{second}")
            page.get_by_role("button", name="Cancel run").click()
            expect(page.locator("#run-status")).to_have_text("cancelled")
            expect(page.get_by_role("button", name="Cancel run")).to_have_count(0)
            assert http.get(f"/v1/agents/refunds/runs/{second}").json()["status"] == "cancelled"

            page.goto(f"/p/{project_id}/agents/refunds/runs?status=succeeded")
            rows = page.locator("table.runs tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text(first)
            assert re.search(r"v1", rows.first.inner_text())
        finally:
            page.context.close()
