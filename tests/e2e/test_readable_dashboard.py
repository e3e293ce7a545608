"""The dashboard in a real browser, as a non-engineer reads it (issue 10): key names in
history and the audit log, the audit log's filters and pages, the webhook form's event
types, rotating and deleting a webhook, and the only owner who cannot be removed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from promptops.domain.events import SENT_EVENT_TYPES
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Shots
from tests.e2e.test_dashboard import flash, sign_in
from tests.support import LiveServer

pytestmark = pytest.mark.e2e


def _api_project(base: str, admin_key: str) -> tuple[str, str, str]:
    """A project made through the API; its initial key writes prompts and versions."""
    r = httpx.post(
        f"{base}/v1/projects",
        json={"name": "Support"},
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    key = body["api_key"]["key"]
    auth = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=base, headers=auth) as http:
        assert http.post("/v1/prompts", json={"slug": "reply", "name": "Reply"}).is_success
        for system, text, temperature in (
            ("You answer support questions.", "Hello {{name}}", 1.0),
            ("You answer support questions briefly.", "Hello {{name}}, how can we help?", 0.2),
        ):
            r = http.post(
                "/v1/prompts/reply/versions",
                json={
                    "system_prompt": system,
                    "user_template": text,
                    "model": "gpt-4o-mini",
                    "temperature": temperature,
                },
            )
            assert r.status_code == 201, r.text
        for i in range(52):  # enough events for a second page of the audit log
            assert http.post("/v1/prompts", json={"slug": f"faq-{i}", "name": f"FAQ {i}"})
    # v1 in staging, through a staging key the instance admin key makes.
    r = httpx.post(
        f"{base}/v1/keys",
        json={
            "project_id": body["project"]["id"],
            "environment": "staging",
            "role": "write",
            "name": "release bot",
        },
        headers={"Authorization": f"Bearer {admin_key}"},
    )
    assert r.status_code == 201, r.text
    r = httpx.post(
        f"{base}/v1/prompts/reply/deployments/staging",
        json={"version": 1},
        headers={"Authorization": f"Bearer {r.json()['key']}"},
    )
    assert r.is_success, r.text
    return body["project"]["id"], key, body["api_key"]["prefix"]


def test_key_names_audit_filters_webhooks_and_the_only_owner(
    browser: Any, server: tuple[LiveServer, str], shots: Shots
) -> None:
    live, admin_key = server
    base = live.base_url
    project_id, _, prefix = _api_project(base, admin_key)
    page = sign_in(browser, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    try:
        _scenario(page, project_id, prefix, shots)
    except Exception:
        shots.take(page, "failure-readable")
        raise


def _scenario(page: Any, project_id: str, prefix: str, shots: Shots) -> None:
    name = f"initial key ({prefix})"
    # -- key names, not bare prefixes, wherever an actor or author is shown -------------
    page.goto(f"/p/{project_id}/prompts/reply")
    assert page.locator("table.versions tbody").inner_text().count(name) == 2
    assert page.locator("table.history tbody").inner_text().count(name) == 2
    dev = page.locator('.active-text[data-env="dev"]').inner_text()
    staging = page.locator('.active-text[data-env="staging"]').inner_text()
    assert "Hello {{name}}, how can we help?" in dev and "0.2" in dev
    assert "Hello {{name}}\n" in staging + "\n" and "how can we help" not in staging
    assert "release bot (po_live_" in page.locator("table.history tbody").inner_text()
    shots.take(page, "prompt-environments", docs=True, element=page.locator("#envs-h + ul"))

    # -- the audit log: filters, pages, readable before/after ---------------------------
    page.get_by_role("link", name="Audit log").click()
    rows = page.locator("table.audit > tbody > tr")
    assert rows.count() == 50
    assert "release bot (po_live_" in rows.first.inner_text()
    assert "instance admin (po_admin_" in rows.nth(1).inner_text()  # it made that key
    assert name in rows.nth(2).inner_text()
    page.get_by_role("link", name="Older events").click()
    assert rows.count() > 0 and "faq-0" in page.locator("table.audit").inner_text()
    page.get_by_role("link", name="Newest events").click()
    page.get_by_label("Action", exact=True).select_option("version.created")
    page.get_by_label("Actor", exact=True).select_option(label=name)
    page.get_by_label("Prompt slug", exact=True).fill("reply")
    today = datetime.now(UTC).date().isoformat()
    since = page.get_by_label("From date", exact=True)
    assert since.get_attribute("type") == "date"
    since.fill(today)
    page.get_by_label("To date", exact=True).fill(today)
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"action=version\.created"))
    assert rows.count() == 2
    first = rows.first.inner_text()
    assert "version: 2" in first and "commit_message" not in first  # null is not shown
    assert "{" not in first  # lines, not raw JSON
    assert not page.get_by_role("link", name="Older events").count()
    shots.take(page, "audit-filtered")
    page.goto(f"/p/{project_id}/audit?prompt=reply")
    shots.take(page, "audit", docs=True)
    page.goto(f"/p/{project_id}/audit?action=deployment.auto&prompt=reply")
    change = rows.first.locator("table.diff")
    assert change.locator("del").first.inner_text() == "1"
    assert change.locator("ins").first.inner_text() == "2"

    # -- webhooks: the events that are sent; rotate and delete, each confirmed -----
    page.get_by_role("link", name="Webhooks").click()
    offered = page.locator('input[name^="event."]').evaluate_all(
        "(boxes) => boxes.map((b) => b.name.slice(6))"
    )
    assert offered == list(SENT_EVENT_TYPES) and "agent_run_completed" in offered
    page.get_by_label("URL", exact=True).fill("http://127.0.0.1:9/hook")
    page.get_by_role("button", name="Create webhook").click()
    first_secret = page.locator("#webhook-secret").inner_text()
    page.get_by_role("link", name="Open it").click()
    page.get_by_role("link", name="Rotate secret…").click()
    page.get_by_role("button", name="Rotate secret").click()
    rotated = page.locator("#webhook-secret").inner_text()
    assert rotated.startswith("whsec_") and rotated != first_secret
    assert "the previous one keeps working until" in page.locator(".secret").inner_text()
    shots.take(page, "webhook-rotated")
    page.get_by_role("link", name="Delete webhook…").click()
    page.get_by_role("button", name="Delete webhook").click()
    assert "deleted" in flash(page)
    assert "No webhooks yet." in page.locator("main").inner_text()

    # -- the only owner: no Remove button, and the server refuses it too ----------------
    page.get_by_role("link", name="Settings").click()
    for email, role in (("solo@example.com", "owner"), ("helper@example.com", "editor")):
        page.get_by_label("Email", exact=True).fill(email)
        page.get_by_label("Role", exact=True).select_option(role)
        page.get_by_label("Password for a new user").fill(f"{role}-password-1")
        page.get_by_role("button", name="Save member").click()
        assert f"is now {role}" in flash(page)
    solo = page.locator("tr", has_text="solo@example.com")
    assert solo.get_by_role("button", name=re.compile("Remove")).count() == 0
    assert "the only owner" in solo.inner_text()
    helper = page.locator("tr", has_text="helper@example.com")
    assert helper.get_by_role("button", name=re.compile("Remove")).count() == 1
    shots.take(page, "settings-members")
    refused = page.request.post(
        f"/p/{project_id}/members/remove",
        form={
            "email": "solo@example.com",
            "csrf_token": page.locator('input[name="csrf_token"]').first.input_value(),
        },
    )
    assert refused.status == 409 and "at least one owner" in refused.text()
