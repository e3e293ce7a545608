"""The dashboard in a real browser: from signing in to an approved production change.

One scenario, in the order a team lives it: the instance admin creates a project and a
prompt, writes two versions in the editor, compares them, promotes to staging, protects
production and invites an editor and a second admin; the editor requests production, the
second admin approves; the API then serves that version to a production key; a key revoked
in the dashboard is refused by the API.
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Shots
from tests.support import LiveServer

pytestmark = pytest.mark.e2e

KEY = re.compile(r"po_live_[a-z0-9]{8}_[A-Za-z0-9]{40}")
VIEWPORT = {"width": 1280, "height": 860}


def sign_in(browser: Any, base: str, email: str, password: str) -> Any:
    """A fresh browser context (its own cookies) signed in by keyboard only."""
    context = browser.new_context(base_url=base, viewport=VIEWPORT)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.goto("/projects")  # not signed in: sent to the sign-in form
    assert "/login?next=" in page.url
    page.get_by_label("Email", exact=True).focus()
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(password)
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/projects$"))
    return page


def _log_calls(base: str, key: str) -> None:
    """Some logged calls over the last week (as the SDK's run() sends them), for the charts."""
    now = datetime.now(UTC)
    records = [
        {
            "id": str(uuid.uuid4()),
            "created_at": (now - timedelta(days=day, minutes=i)).isoformat(),
            "provider": "openai",
            "model": "gpt-4o-mini",
            "prompt_slug": "checkout-help",
            "prompt_version": version,
            "request": {"messages": [{"role": "user", "content": "Can I pay by card?"}]},
            "status": "ok",
            "latency_ms": (620.0 if version == 1 else 410.0) + 13 * ((day * 7 + i) % 9),
            "input_tokens": 40,
            "output_tokens": 60 if version == 1 else 35,
            "cost_usd": 0.00011 if version == 1 else 0.00007,
        }
        for day in range(7)
        for version in (1, 2)
        if (version == 1 and day >= 2) or (version == 2 and day <= 3)
        for i in range(3 + (day * 5 + version) % 6)
    ]
    r = httpx.post(
        f"{base}/v1/logs", json={"records": records}, headers={"Authorization": f"Bearer {key}"}
    )
    assert r.status_code < 300, r.text


def box(page: Any, name: str) -> Any:
    """The editor's box for a form field (ids hold dots: ``f-messages.0.content``)."""
    return page.locator(f'[id="f-{name}"]')


def box_error(page: Any, name: str) -> Any:
    return page.locator(f'[id="{name}-error"]')


def flash(page: Any) -> str:
    return str(page.locator(".flash").inner_text())


def _top_bar_is_one_row(page: Any) -> None:
    """At 1280 px, with the change-request count shown, the top bar keeps one row."""
    assert page.viewport_size["width"] == 1280
    assert page.locator(".topbar .count").is_visible()
    tops = page.evaluate(
        "[...document.querySelectorAll('.topbar a, .topbar button, .topbar .role')]"
        ".filter((e) => e.offsetParent !== null && !e.classList.contains('skip-link'))"
        ".map((e) => e.getBoundingClientRect().top + e.getBoundingClientRect().height / 2)"
    )
    assert len(tops) >= 10 and max(tops) - min(tops) < 6, tops


def test_edit_compare_promote_request_approve_and_revoke(
    browser: Any, server: tuple[LiveServer, str], shots: Shots
) -> None:
    live, _ = server
    base = live.base_url
    started = time.monotonic()
    admin = sign_in(browser, base, ADMIN_EMAIL, ADMIN_PASSWORD)
    try:
        _scenario(browser, base, admin, shots)
    except Exception:
        shots.take(admin, "failure-admin")
        raise
    assert time.monotonic() - started < 60


def _scenario(browser: Any, base: str, admin: Any, shots: Shots) -> None:
    # -- a project: its initial key is shown once, with a copy button ---------------------
    admin.get_by_label("Project name", exact=True).fill("Shop")
    admin.get_by_role("button", name="Create project").click()
    secret = admin.locator(".secret")
    initial = KEY.search(secret.inner_text())
    assert initial
    initial_key = initial.group()
    secret.get_by_role("button", name="Copy key").click()
    secret.locator(".copy-status").filter(has_text="Copied").wait_for()
    shots.take(admin, "project-created")
    admin.get_by_role("link", name="Open Shop").click()
    project_url = admin.url.removesuffix("/prompts")

    # -- a prompt, and two versions written in the editor -----------------------------
    admin.get_by_label("Slug", exact=True).fill("checkout-help")
    admin.get_by_label("Display name", exact=True).fill("Checkout help")
    admin.get_by_role("button", name="Create prompt").click()
    admin.wait_for_url(re.compile(r"/prompts/checkout-help/edit$"))
    # A chat prompt starts with a system and a user message.
    box(admin, "messages.0.content").fill("You help {{customer}} check out.")
    box(admin, "messages.1.content").fill("Question: {{question")
    # Checked as you type: the unclosed variable is reported beside the field ...
    error = box_error(admin, "messages.1.content")
    error.filter(has_text="is not closed").wait_for()
    assert box(admin, "messages.1.content").get_attribute("aria-invalid") == "true"
    # The broken user message does not blank the system message's preview.
    system_preview = admin.locator(".preview-item").nth(0)
    assert system_preview.locator("pre").inner_text() == "You help {{customer}} check out."
    assert admin.locator(".preview-item").nth(1).locator(".note").is_visible()
    shots.take(admin, "editor-error")
    box(admin, "messages.1.content").fill("Question: {{question}}")
    error.wait_for(state="hidden")
    # ... the variables are listed, with an input each for sample values, and a preview.
    admin.locator("#variables").filter(has_text="question").wait_for()
    admin.get_by_label("question", exact=True).fill("Can I pay by card?")
    admin.locator(".preview-item").nth(1).filter(has_text="Can I pay by card?").wait_for()
    admin.get_by_label("Commit message", exact=True).fill("First draft")
    shots.take(admin, "editor")
    admin.get_by_role("button", name="Create version").click()
    assert "Created v1" in flash(admin)

    admin.get_by_role("link", name="New version").click()
    assert box(admin, "messages.1.content").input_value() == "Question: {{question}}"
    box(admin, "messages.1.content").fill(
        "Answer briefly and kindly.\nQuestion: {{question}}\nCart total: {{total}}"
    )
    admin.get_by_label("Temperature (0.0–2.0)").fill("0.3")
    admin.get_by_label("Commit message", exact=True).fill("Shorter answers; mention the cart")
    admin.get_by_role("button", name="Create version").click()
    assert "Created v2" in flash(admin)

    # -- their diff, side by side -------------------------------------------------------
    admin.get_by_role("link", name="Compare v1 and v2").click()
    admin.get_by_role("heading", name="Compare v1 and v2").wait_for()
    messages = admin.locator(".diff-section").nth(0)
    assert "Cart total:" in messages.locator("ins").all_inner_texts()[-1]
    assert "temperature: 1.0" in admin.locator(".diff-section").nth(1).inner_text()
    shots.take(admin, "diff", docs=True)

    # -- promote v2 to staging (after a confirmation) -------------------------------------
    admin.goto(f"{project_url}/prompts/checkout-help")
    admin.get_by_role("link", name=re.compile(r"^Promote v2\s?…$")).click()
    admin.get_by_label(re.compile(r"^staging")).check()
    admin.get_by_role("button", name="Confirm promotion").click()
    assert "v2 is now active in staging." in flash(admin)

    # -- protect production; invite an editor and a second admin --------------------------
    admin.get_by_role("link", name="Settings").click()
    admin.get_by_label("production", exact=True).check()
    admin.get_by_role("button", name="Save protection").click()
    assert "Protected environments: production" in flash(admin)
    for email, role in (("editor@example.com", "editor"), ("approver@example.com", "admin")):
        admin.get_by_label("Email", exact=True).fill(email)
        admin.get_by_label("Role", exact=True).select_option(role)
        admin.get_by_label("Password for a new user").fill(f"{role}-password-1")
        admin.get_by_role("button", name="Save member").click()
        assert f"is now {role}" in flash(admin)

    # -- a production read key for the application --------------------------------------
    admin.get_by_role("link", name="API keys").click()
    admin.get_by_label("Name", exact=True).fill("storefront")
    admin.get_by_label("Environment", exact=True).select_option("production")
    admin.get_by_role("button", name="Create key").click()
    read_key = KEY.search(admin.locator(".secret").inner_text())
    assert read_key
    production_key = read_key.group()

    # -- the editor asks for production: a change request, not a deployment ---------------
    editor = sign_in(browser, base, "editor@example.com", "editor-password-1")
    editor.goto(f"{project_url}/prompts/checkout-help/promote?version=2")
    editor.get_by_label(re.compile(r"^production")).check()
    editor.get_by_label(re.compile("Note for the approver")).fill("Ready after QA")
    editor.get_by_role("button", name="Confirm promotion").click()
    assert "production is protected: change request #1" in flash(editor)
    assert editor.locator("#pending-h").is_visible()
    shots.take(editor, "prompt-pending")
    active = httpx.get(
        f"{base}/v1/prompts/checkout-help/active",
        headers={"Authorization": f"Bearer {production_key}"},
    )
    assert active.status_code == 404  # nothing in production until approved

    # -- the second admin approves ------------------------------------------------------
    approver = sign_in(browser, base, "approver@example.com", "admin-password-1")
    approver.goto(f"{project_url}/changes")
    request = approver.locator("article.change").first
    assert "Ready after QA" in request.inner_text()
    assert "user:editor@example.com" in request.inner_text()
    # The card says what would change: production has nothing yet, so all of v2 is added.
    assert "What changes in production: nothing → v2" in request.inner_text()
    assert "Cart total: {{total}}" in request.locator("ins").all_inner_texts()
    shots.take(approver, "change-requests")
    _top_bar_is_one_row(approver)
    # The request's own page (the approval page) shows the whole comparison.
    request.get_by_role("link", name="Open #1 with the full comparison").click()
    approver.wait_for_url(re.compile(r"/changes/1$"))
    request = approver.locator("article.change")
    assert request.locator(".diff-section").count() == 4  # messages, parameters, metadata, commit
    assert "temperature: 0.3" in request.locator(".diff-section").nth(1).inner_text()
    shots.take(approver, "change-request-diff", docs=True)
    request.get_by_label("Comment (optional)").fill("LGTM")
    request.get_by_role("button", name="Approve #1").click()
    assert "Approved #1: v2 is now active in production." in flash(approver)

    # -- the API serves it to production, and history shows who did what ---------------------
    active = httpx.get(
        f"{base}/v1/prompts/checkout-help/active",
        headers={"Authorization": f"Bearer {production_key}"},
    )
    assert active.status_code == 200, active.text
    assert (active.json()["version"], active.json()["environment"]) == (2, "production")
    _log_calls(base, initial_key)
    approver.goto(f"{project_url}/prompts/checkout-help")
    history = approver.locator("table.history tbody tr").first.inner_text()
    assert "user:approver@example.com" in history and "request #1 by user:editor" in history
    assert approver.locator(".chart svg").count() == 5  # requests, errors, p50, p95, cost
    # Each environment shows the text it serves now, not only a version number.
    production = approver.locator('.active-text[data-env="production"]')
    assert "Cart total: {{total}}" in production.inner_text()
    assert "You help {{customer}} check out." in production.inner_text()
    assert "0.3" in production.locator("dl.params").inner_text()
    assert "gpt-4o-mini" in production.locator("dl.params").inner_text()
    shots.take(approver, "prompt", docs=True)
    # Costs: one readable format in the list and in the detail.
    approver.goto(f"{project_url}/logs?prompt=checkout-help&version=1")
    assert approver.locator("table.logs tbody td:nth-child(8)").first.inner_text() == "$0.00011"
    since = approver.get_by_label("Since (date)")
    assert since.get_attribute("type") == "date"
    approver.locator("table.logs tbody a").first.click()
    assert "$0.00011" in approver.locator("dl.meta").inner_text()
    approver.goto(f"{project_url}/audit")
    assert "change_request.approved" in approver.locator("table.audit").inner_text()

    # -- revoke the key in the dashboard: the API refuses it at once ----------------------
    admin.goto(f"{project_url}/keys")
    admin.get_by_role("link", name=re.compile(rf"^Revoke {production_key[:16]}\s?…$")).click()
    admin.get_by_role("button", name=f"Revoke {production_key[:16]}").click()
    assert "revoked" in flash(admin)
    shots.take(admin, "keys")
    refused = httpx.get(
        f"{base}/v1/prompts/checkout-help/active",
        headers={"Authorization": f"Bearer {production_key}"},
    )
    assert refused.status_code == 401 and "revoked" in refused.json()["error"]["message"]

    # -- signing out ends the session -------------------------------------------------------
    editor.get_by_role("button", name="Sign out").click()
    editor.wait_for_url(re.compile(r"/login$"))
    editor.goto(f"{project_url}/prompts")
    assert "/login?next=" in editor.url
