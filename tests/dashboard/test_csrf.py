"""Every state-changing request made with the session cookie needs the session's CSRF token:
forms in a hidden field, API calls and the editor's check in the X-CSRF-Token header."""

from __future__ import annotations

from typing import Any

import pytest

from tests.dashboard.support import Person, Site
from tests.server.helpers import row_counts
from tests.support import Api, Project


def _forms(project: Project, slug: str) -> list[tuple[str, dict[str, str]]]:
    p = f"/p/{project.id}"
    return [
        ("/projects", {"name": "Sneaky"}),
        (f"{p}/prompts", {"slug": "sneaky", "name": "Sneaky"}),
        (f"{p}/prompts/{slug}/edit", {"user_template": "pwned", "model": "m"}),
        (f"{p}/prompts/{slug}/promote", {"version": "1", "environment": "staging"}),
        (f"{p}/prompts/{slug}/rollback", {"environment": "dev"}),
        (f"{p}/keys", {"environment": "dev", "role": "write"}),
        (f"{p}/keys/{project.prefix}/revoke", {}),
        (f"{p}/settings/environments", {"protect.production": "on"}),
        (f"{p}/members", {"email": "viewer@example.com", "role": "owner"}),
        (f"{p}/members/remove", {"email": "viewer@example.com"}),
        (f"{p}/changes/1/approve", {}),
        (f"{p}/webhooks", {"url": "http://127.0.0.1:9/hook"}),
        (f"{p}/webhooks/wh_0123456789abcdef/rotate", {}),
        (f"{p}/webhooks/wh_0123456789abcdef/delete", {}),
        ("/account/tokens", {"name": "x"}),
        ("/logout", {}),
    ]


@pytest.mark.parametrize("token", [None, "wrong-token"], ids=["missing", "wrong"])
def test_every_form_refuses_a_post_without_the_right_token(
    app: Any,
    site: Site,
    people: dict[str, Person],
    project: Project,
    greeting: str,
    token: str | None,
) -> None:
    b = site.signed_in(people["root"])  # may do everything: only the token stops it
    before = row_counts(app)
    for url, data in _forms(project, greeting):
        body = dict(data) if token is None else {**data, "csrf_token": token}
        r = b.post(url, body, csrf=False)
        assert r.status_code == 403, (url, r.status_code)
        assert "CSRF token missing or wrong" in r.text, url
    assert row_counts(app) == before  # nothing changed, and still signed in
    assert b.get("/projects").status_code == 200


def test_the_right_token_is_accepted(
    site: Site, people: dict[str, Person], project: Project
) -> None:
    b = site.signed_in(people["editor"])
    r = b.post(f"/p/{project.id}/prompts", {"slug": "fine", "name": "Fine"})
    assert r.status_code == 303


def test_a_token_belongs_to_its_session(
    site: Site, people: dict[str, Person], project: Project
) -> None:
    editor = site.signed_in(people["editor"])
    other = site.signed_in(people["admin"])
    r = editor.post(
        f"/p/{project.id}/prompts", {"slug": "x", "name": "X", "csrf_token": other.csrf or ""}
    )
    assert r.status_code == 403


def test_the_editor_check_needs_the_header(
    site: Site, people: dict[str, Person], project: Project, api: Api
) -> None:
    api.new_prompt(project.key, "checked")
    b = site.signed_in(people["editor"])
    url = f"/p/{project.id}/prompts/checked/validate"
    fields = {"messages.0.kind": "message", "messages.0.content": "Hi {{name}}", "model": "m"}
    body = {"fields": fields}
    assert b.http.post(url, json=body).status_code == 403
    assert b.http.post(url, json=body, headers={"X-CSRF-Token": "nope"}).status_code == 403
    r = b.http.post(url, json=body, headers={"X-CSRF-Token": b.csrf or ""})
    assert r.status_code == 200 and r.json()["variables"] == ["name"]


def test_api_calls_with_the_session_cookie_need_the_header(
    app: Any, site: Site, people: dict[str, Person], project: Project, api: Api
) -> None:
    b = site.signed_in(people["editor"])
    headers = {"X-PromptOps-Project": project.id}
    # Reading with the cookie is fine (GET is safe) ...
    assert b.get("/v1/prompts", headers=headers).status_code == 200
    # ... changing needs the CSRF header: a cross-site form cannot send it.
    body = {"slug": "via-cookie", "name": "Via cookie"}
    r = b.http.post("/v1/prompts", json=body, headers=headers)
    assert r.status_code == 403 and "X-CSRF-Token" in r.json()["error"]["message"]
    r = b.http.post("/v1/prompts", json=body, headers={**headers, "X-CSRF-Token": b.csrf or ""})
    assert r.status_code == 201, r.text
    history = api.as_(project.key).get("/v1/audit", params={"action": "prompt.created"})
    assert history.json()["data"][0]["actor"] == "user:editor@example.com"
