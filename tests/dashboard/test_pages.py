"""The dashboard's pages over HTTP: what they show and what their forms do."""

from __future__ import annotations

import re
from typing import Any

from tests.dashboard.support import Person, Site
from tests.support import Api, Project

KEY = re.compile(r"po_live_[a-z0-9]{8}_[A-Za-z0-9]{40}")


def test_creating_a_project_shows_its_key_once(
    site: Site, people: dict[str, Person], api: Api
) -> None:
    root = site.signed_in(people["root"])
    r = root.post("/projects", {"name": "Billing"})
    assert r.status_code == 201
    key = KEY.search(r.text)
    assert key and 'data-copy="initial-key"' in r.text and "shown only now" in r.text
    assert KEY.search(root.get("/projects").text) is None  # never again
    assert api.as_(key.group()).get("/v1/prompts").status_code == 200
    # Only instance admins create projects; a missing name is shown beside the field.
    assert site.signed_in(people["owner"]).post("/projects", {"name": "X"}).status_code == 403
    r = root.post("/projects", {"name": " "})
    assert r.status_code == 422 and 'id="name-error"' in r.text


def test_prompts_list_searches_and_creates(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    api.new_prompt(project.key, "farewell")
    b = site.signed_in(people["editor"])
    page = b.get(f"/p/{project.id}/prompts").text
    assert "greeting" in page and "farewell" in page
    page = b.get(f"/p/{project.id}/prompts", params={"q": "fare"}).text
    assert "farewell" in page and "/prompts/greeting" not in page
    r = b.post(f"/p/{project.id}/prompts", {"slug": "Bad Slug", "name": "Bad"})
    assert r.status_code == 422 and 'id="slug-error"' in r.text and "invalid slug" in r.text
    assert 'value="Bad Slug"' in r.text  # what was typed is kept
    r = b.post(f"/p/{project.id}/prompts", {"slug": "welcome", "name": "Welcome"})
    assert r.status_code == 303 and r.headers["location"].endswith("/prompts/welcome/edit")


def test_prompt_page_shows_where_versions_are_active_and_who_deployed(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    h = people["editor"].headers(project.id)
    api.http.post("/v1/prompts/greeting/deployments/staging", json={"version": 1}, headers=h)
    page = site.signed_in(people["viewer"]).get(f"/p/{project.id}/prompts/greeting").text
    versions = page.split('id="versions-h"')[1].split('id="history-h"')[0]
    row1 = versions.split(">v1</a>")[1].split("</tr>")[0]
    row2 = versions.split(">v2</a>")[1].split("</tr>")[0]
    assert "env-staging" in row1 and "env-dev" not in row1
    assert "env-dev" in row2
    history = page.split('id="history-h"')[1]
    assert "user:editor@example.com" in history and project.prefix in history


def test_editor_creates_a_version_and_shows_errors_beside_fields(
    app: Any, site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    """The greeting's versions have the older shape (one user template): the editor opens on
    the latest as messages. More of the editor: tests/dashboard/test_editor.py."""
    b = site.signed_in(people["editor"])
    url = f"/p/{project.id}/prompts/greeting/edit"
    form = b.get(url).text
    assert "Hi {{name}}!" in form and 'id="sample-name"' in form  # starts from the latest
    assert 'name="messages.0.kind" value="message"' in form and "messages.1.kind" not in form
    bad = {
        "messages.0.kind": "message",
        "messages.0.role": "system",
        "messages.0.content": "You are {{ helpful",
        "messages.1.kind": "message",
        "messages.1.role": "user",
        "messages.1.content": "Hello {{name}} from {{city}}",
        "model": "gpt-4o-mini",
        "intent": "save",
    }
    r = b.post(url, bad)
    assert r.status_code == 422
    error = re.search(r'<p class="field-error" id="messages.0.content-error">([^<]+)</p>', r.text)
    assert error and "is not closed" in error.group(1)
    assert re.search(r'id="f-messages.0.content"[^>]*aria-invalid="true"', r.text)
    assert "You are {{ helpful" in r.text  # nothing typed is lost
    good = {
        **bad,
        "messages.0.content": "You are kind.",
        "temperature": "0.3",
        "max_tokens": "200",
        "metadata": '{"team": "growth"}',
        "commit_message": "Mention the city",
    }
    # Without JavaScript the Preview button renders the preview with the sample values.
    preview = b.post(
        url, {**good, "intent": "preview", "sample.name": "Ada", "sample.city": "Oslo"}
    )
    assert preview.status_code == 200 and "Hello Ada from Oslo" in preview.text
    r = b.post(url, good)
    assert r.status_code == 303
    made = api.as_(project.key).get("/v1/prompts/greeting/versions/3").json()
    assert made["variables"] == ["name", "city"] and made["metadata"] == {"team": "growth"}
    assert made["author"] == "user:editor@example.com" and made["max_tokens"] == 200
    assert made["commit_message"] == "Mention the city"
    assert made["system_prompt"] == "You are kind."  # the older shape, still readable


def _cells(section: str, side: str) -> list[str]:
    """The text of one side's cells in a diff table, without the <del>/<ins> marks."""
    found = re.findall(rf'<td class="{side}">(.*?)</td>', section, re.S)
    return [re.sub(r"<[^>]+>", "", cell) for cell in found]


def test_diff_shows_both_versions_side_by_side(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    api.new_version(
        project.key, "greeting", user_template="Hi {{name}}!", temperature=0.2, metadata={"a": 1}
    )
    b = site.signed_in(people["viewer"])
    page = b.get(f"/p/{project.id}/prompts/greeting/diff", params={"a": 1, "b": 3}).text
    messages, params, metadata, _ = page.split('<section class="diff-section"')[1:]
    assert "changed" in messages.split("</h2>")[0]
    # "Hello {{name}}" (v1) against "Hi {{name}}!" (v3), marked word by word.
    assert "<del>Hello</del> {{name}}" in messages and "<ins>Hi</ins> {{name}}" in messages
    assert "<ins>!</ins>" in messages and "── 1 · user ──" in _cells(messages, "left")
    assert "temperature: 1.0" in _cells(params, "left")
    assert "temperature: 0.2" in _cells(params, "right")
    assert _cells(metadata, "left") == ["{}", "", ""]
    assert _cells(metadata, "right") == ["{", "  &#34;a&#34;: 1", "}"]
    assert b.get(f"/p/{project.id}/prompts/greeting/diff", params={"a": 9}).status_code == 404


def test_promote_and_rollback_through_confirmation_pages(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    b = site.signed_in(people["editor"])
    base = f"/p/{project.id}/prompts/greeting"
    confirm = b.get(f"{base}/promote", params={"version": 2})
    assert confirm.status_code == 200 and "Confirm promotion" in confirm.text
    r = b.post(f"{base}/promote", {"version": "2"})  # no environment chosen
    assert r.status_code == 422 and 'id="environment-error"' in r.text
    for version in ("1", "2"):
        r = b.post(f"{base}/promote", {"version": version, "environment": "staging"})
        assert r.status_code == 303
    page = b.get(base).text
    assert "v2 is now active in staging." in page  # the flash message
    assert f"{base}/rollback?environment=staging" in page
    assert "Confirm rollback" in b.get(f"{base}/rollback", params={"environment": "staging"}).text
    assert b.post(f"{base}/rollback", {"environment": "staging"}).status_code == 303
    r = api.http.get(
        "/v1/prompts/greeting/deployments", headers=people["editor"].headers(project.id)
    )
    assert r.json()["environments"]["staging"]["version"] == 1


def test_keys_are_shown_once_and_revoked_keys_are_refused(
    site: Site, people: dict[str, Person], project: Project, greeting: str, api: Api
) -> None:
    b = site.signed_in(people["admin"])
    r = b.post(f"/p/{project.id}/keys", {"name": "web", "environment": "dev", "role": "read"})
    assert r.status_code == 201 and 'data-copy="new-key"' in r.text
    key = KEY.search(r.text)
    assert key
    assert "bypasses protection" not in r.text and "can_bypass_protection" not in r.text
    assert api.as_(key.group()).get("/v1/prompts/greeting/active").status_code == 200
    prefix = key.group()[:16]
    confirm = b.get(f"/p/{project.id}/keys/{prefix}/revoke")
    assert confirm.status_code == 200 and f"Revoke {prefix}" in confirm.text
    assert b.post(f"/p/{project.id}/keys/{prefix}/revoke").status_code == 303
    r = api.as_(key.group()).get("/v1/prompts/greeting/active")
    assert r.status_code == 401 and "revoked" in r.json()["error"]["message"]
    # An owner sees (and may use) the bypass permission; the key list marks such keys.
    owner = site.signed_in(people["owner"])
    assert 'name="can_bypass_protection"' in owner.get(f"/p/{project.id}/keys").text
    r = owner.post(
        f"/p/{project.id}/keys",
        {"environment": "production", "role": "write", "can_bypass_protection": "on"},
    )
    assert r.status_code == 201 and "bypasses protection" in r.text


def test_settings_protect_environments_and_add_members(
    app: Any, site: Site, people: dict[str, Person], project: Project, api: Api
) -> None:
    root = site.signed_in(people["root"])
    url = f"/p/{project.id}"
    r = root.post(f"{url}/settings/environments", {"protect.production": "on"})
    assert r.status_code == 303
    envs = api.http.get("/v1/environments", headers=people["viewer"].headers(project.id)).json()
    assert [e["name"] for e in envs if e["protected"]] == ["production"]
    # A new user, created by the instance admin from the members form.
    r = root.post(f"{url}/members", {"email": "Newbie@example.com", "role": "editor"})
    assert r.status_code == 422 and 'id="password-error"' in r.text
    r = root.post(
        f"{url}/members",
        {"email": "Newbie@example.com", "role": "editor", "password": "newbie-pw-1"},
    )
    assert r.status_code == 303
    newbie = site.browser()
    assert newbie.login("newbie@example.com", "newbie-pw-1").status_code == 303
    assert newbie.get(f"{url}/prompts").status_code == 200
    # A project admin (not an instance admin) can only add existing users.
    admin = site.signed_in(people["admin"])
    r = admin.post(f"{url}/members", {"email": "ghost@example.com", "role": "viewer"})
    assert r.status_code == 422 and "an instance admin creates users" in r.text
    page = admin.get(f"{url}/settings").text
    assert "newbie@example.com" in page


def test_audit_page_shows_users_as_actors(
    site: Site, people: dict[str, Person], project: Project, greeting: str
) -> None:
    b = site.signed_in(people["editor"])
    b.post(f"/p/{project.id}/prompts/greeting/promote", {"version": "1", "environment": "staging"})
    page = b.get(f"/p/{project.id}/audit").text
    assert "deployment.promote" in page and "user:editor@example.com" in page
    filtered = b.get(f"/p/{project.id}/audit", params={"action": "prompt.created"}).text
    assert "<code>prompt.created</code>" in filtered
    assert "<code>deployment.promote</code>" not in filtered


def test_pages_label_every_control(
    site: Site, people: dict[str, Person], project: Project, greeting: str
) -> None:
    b = site.signed_in(people["root"])
    pages = [
        "/projects",
        "/account",
        f"/p/{project.id}/prompts",
        f"/p/{project.id}/keys",
        f"/p/{project.id}/settings",
        f"/p/{project.id}/prompts/greeting/edit",
        f"/p/{project.id}/prompts/greeting/promote?version=1",
        f"/p/{project.id}/audit",
        f"/p/{project.id}/prompts/greeting/diff",
    ]
    for url in pages:
        html = b.get(url).text
        labelled = set(re.findall(r'<label for="([^"]+)"', html))
        for tag, attrs in re.findall(r"<(input|select|textarea)\b([^>]*)>", html):
            if 'type="hidden"' in attrs:
                continue
            control_id = re.search(r'id="([^"]+)"', attrs)
            assert control_id and control_id.group(1) in labelled, (url, tag, attrs)


def test_what_people_type_is_escaped(
    site: Site, people: dict[str, Person], project: Project, api: Api
) -> None:
    h = people["editor"].headers(project.id)
    name = "<script>alert(1)</script>"
    r = api.http.post("/v1/prompts", json={"slug": "xss", "name": name}, headers=h)
    assert r.status_code == 201
    page = site.signed_in(people["viewer"]).get(f"/p/{project.id}/prompts").text
    assert name not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
