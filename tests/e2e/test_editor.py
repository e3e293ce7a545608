"""The editor in a real browser: a text prompt (a snippet), then a chat prompt whose
messages are added, removed and reordered, with a placeholder, a tool whose JSON Schema is
refused as you type and then accepted, the snippet shown resolved with a link; saved, seen,
saved again unchanged (no new version), changed and compared."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Shots
from tests.e2e.test_dashboard import box, box_error, flash, sign_in
from tests.support import LiveServer

pytestmark = pytest.mark.e2e

BAD_TOOL = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": 5}}}]
GOOD_TOOL = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"id": {"type": "string"}}},
        },
    }
]


def _roles(page: Any) -> list[str]:
    """Each message row as its role, or ``placeholder:<name>``, in order."""
    out = []
    for row in page.locator("#messages > li").all():
        if row.get_attribute("data-kind") == "placeholder":
            out.append(
                "placeholder:"
                + row.locator("input[type=text], input:not([type])").first.input_value()
            )
        else:
            out.append(row.locator("select").input_value())
    return out


def _new_prompt(page: Any, slug: str, kind: str) -> None:
    page.get_by_label("Slug", exact=True).fill(slug)
    page.get_by_label("Display name", exact=True).fill(slug.title())
    page.get_by_label("Type", exact=True).select_option(kind)
    page.get_by_role("button", name="Create prompt").click()
    page.wait_for_url(re.compile(rf"/prompts/{slug}/edit$"))


def test_editing_chat_and_text_prompts(
    browser: Any, server: tuple[LiveServer, str], shots: Shots
) -> None:
    live, _ = server
    page = sign_in(browser, live.base_url, ADMIN_EMAIL, ADMIN_PASSWORD)
    try:
        _scenario(page, shots)
    except Exception:
        shots.take(page, "failure-editor")
        raise


def _scenario(page: Any, shots: Shots) -> None:
    page.get_by_label("Project name", exact=True).fill("Desk")
    page.get_by_role("button", name="Create project").click()
    page.get_by_role("link", name="Open Desk").click()
    prompts_url = page.url

    # -- a text prompt: one template, previewed with a sample value ------------------------
    _new_prompt(page, "signoff", "text")
    assert page.locator("#messages").count() == 0
    box(page, "text").fill("Regards, {{team}}")
    page.get_by_label("team", exact=True).fill("the desk")
    page.locator(".preview-text pre").filter(has_text="Regards, the desk").wait_for()
    page.get_by_role("button", name="Create version").click()
    assert "Created v1" in flash(page)

    # -- a chat prompt: rows added, moved, removed -------------------------------------------
    page.goto(prompts_url)
    _new_prompt(page, "support", "chat")
    assert _roles(page) == ["system", "user"]
    box(page, "messages.0.content").fill("You help {{customer}}.")
    box(page, "messages.1.content").fill("Q: {{question}}{{> signoff}}")
    page.get_by_role("button", name="Add message").click()
    box(page, "messages.2.role").select_option("assistant")
    box(page, "messages.2.content").fill("Sure.")
    page.get_by_role("button", name="Add placeholder").click()
    box(page, "messages.3.name").fill("history")
    assert _roles(page) == ["system", "user", "assistant", "placeholder:history"]
    rows = page.locator("#messages > li")
    rows.nth(3).get_by_role("button", name=re.compile("^Move up")).click()
    assert _roles(page) == ["system", "user", "placeholder:history", "assistant"]
    rows.nth(3).get_by_role("button", name=re.compile("^Remove")).click()
    rows.nth(2).get_by_role("button", name=re.compile("^Move up")).click()
    assert _roles(page) == ["system", "placeholder:history", "user"]
    # Renumbered: the boxes are named by position, as the contract names its errors.
    assert box(page, "messages.1.name").input_value() == "history"
    assert box(page, "messages.2.content").input_value() == "Q: {{question}}{{> signoff}}"
    # The preview: the placeholder as a slot, the snippet rendered, with a link to it.
    page.locator(".preview-placeholder").filter(has_text="history").wait_for()
    page.locator("#sample-history").fill('[{"role": "user", "content": "Earlier question"}]')
    page.locator(".preview-placeholder pre").filter(has_text="Earlier question").wait_for()
    page.locator("#sample-team").wait_for()  # a variable of the snippet
    page.get_by_label("question", exact=True).fill("Can I pay by card?")
    user = page.locator(".preview-item").nth(2)
    user.filter(has_text="Q: Can I pay by card?Regards, {{team}}").wait_for()
    link = page.locator("#preview .snippets a")
    assert link.get_attribute("href").endswith("/prompts/signoff/versions/1")

    # -- a tool: a bad JSON Schema is refused as you type, a good one accepted ---------------
    box(page, "tools").fill(json.dumps(BAD_TOOL))
    error = box_error(page, "tools")
    error.filter(has_text="not a valid JSON Schema").wait_for()
    assert box(page, "tools").get_attribute("aria-invalid") == "true"
    shots.take(page, "editor-tool-error")
    box(page, "tools").fill(json.dumps(GOOD_TOOL, indent=2))
    error.wait_for(state="hidden")
    page.locator("#check-status").filter(has_text="no problems").wait_for()
    box(page, "tool_choice").fill("lookup")
    page.get_by_label("Commit message", exact=True).fill("With a lookup tool")
    shots.take(page, "editor-chat", docs=True)
    page.get_by_role("button", name="Create version").click()
    assert "Created v1" in flash(page)

    # -- the version, as saved ---------------------------------------------------------------
    page.get_by_role("link", name="v1", exact=True).first.click()
    content = page.locator("main")
    content.get_by_text("Placeholder history").wait_for()
    assert (
        '"lookup"' in content.inner_text()
        and "Q: {{question}}{{> signoff}}" in content.inner_text()
    )

    # -- unchanged: no new version; changed: v2, and the diff -------------------------------
    page.get_by_role("link", name="New version from v1").click()
    assert _roles(page) == ["system", "placeholder:history", "user"]
    page.get_by_role("button", name="Create version").click()
    assert "No change" in flash(page) and "no new version was created" in flash(page)
    page.get_by_role("link", name="New version").click()
    page.get_by_label("Temperature (0.0–2.0)").fill("0.5")
    rows.nth(1).get_by_role("button", name=re.compile("^Remove")).click()
    page.get_by_role("button", name="Create version").click()
    assert "Created v2" in flash(page)
    page.get_by_role("link", name="Compare v1 and v2").click()
    messages = page.locator(".diff-section").filter(has_text="Messages")
    assert "placeholder history" in " ".join(messages.locator("del").all_inner_texts())
    parameters = page.locator(".diff-section").filter(has_text="Parameters")
    assert "0.5" in " ".join(parameters.locator("ins").all_inner_texts())
    shots.take(page, "diff-chat")
