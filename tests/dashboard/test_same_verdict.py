"""The dashboard's forms and the API judge the same bad input the same way: both refuse it
with a 422 naming the same field with the same message (one rule, in promptops.contract)."""

from __future__ import annotations

import html
import re
from typing import Any

from tests.dashboard.support import Person, Site
from tests.support import Api, Project

LONG = "x" * 201
# (case, dashboard form path, form fields, API method, API path, API body, field)
CASES: list[tuple[str, str, dict[str, str], str, str, dict[str, Any], str]] = [
    (
        "slug",
        "/p/{p}/prompts",
        {"slug": "Bad Slug", "name": "N"},
        "POST",
        "/v1/prompts",
        {"slug": "Bad Slug", "name": "N"},
        "slug",
    ),
    (
        "long slug",
        "/p/{p}/prompts",
        {"slug": "a" * 101, "name": "N"},
        "POST",
        "/v1/prompts",
        {"slug": "a" * 101, "name": "N"},
        "slug",
    ),
    (
        "blank name",
        "/p/{p}/prompts",
        {"slug": "ok", "name": "  "},
        "POST",
        "/v1/prompts",
        {"slug": "ok", "name": "  "},
        "name",
    ),
    (
        "long name",
        "/p/{p}/prompts",
        {"slug": "ok", "name": LONG},
        "POST",
        "/v1/prompts",
        {"slug": "ok", "name": LONG},
        "name",
    ),
    (
        "long description",
        "/p/{p}/prompts",
        {"slug": "ok", "name": "N", "description": "d" * 5001},
        "POST",
        "/v1/prompts",
        {"slug": "ok", "name": "N", "description": "d" * 5001},
        "description",
    ),
    ("project name", "/projects", {"name": LONG}, "POST", "/v1/projects", {"name": LONG}, "name"),
    (
        "key name",
        "/p/{p}/keys",
        {"name": LONG, "environment": "dev", "role": "read"},
        "POST",
        "/v1/keys",
        {"name": LONG, "environment": "dev", "role": "read"},
        "name",
    ),
    (
        "key environment",
        "/p/{p}/keys",
        {"environment": "prod", "role": "read"},
        "POST",
        "/v1/keys",
        {"environment": "prod", "role": "read"},
        "environment",
    ),
    (
        "webhook url",
        "/p/{p}/webhooks",
        {"url": "ftp://example.com/hook"},
        "POST",
        "/v1/webhooks",
        {"url": "ftp://example.com/hook"},
        "url",
    ),
    (
        "webhook long url",
        "/p/{p}/webhooks",
        {"url": "https://e.com/" + "u" * 2040},
        "POST",
        "/v1/webhooks",
        {"url": "https://e.com/" + "u" * 2040},
        "url",
    ),
    (
        "webhook description",
        "/p/{p}/webhooks",
        {"url": "https://example.com/hook", "description": "d" * 1001},
        "POST",
        "/v1/webhooks",
        {"url": "https://example.com/hook", "description": "d" * 1001},
        "description",
    ),
    (
        "token name",
        "/account/tokens",
        {"name": LONG},
        "POST",
        "/v1/me/tokens",
        {"name": LONG},
        "name",
    ),
    (
        "member role",
        "/p/{p}/members",
        {"email": "editor@example.com", "role": "boss"},
        "PUT",
        "/v1/members",
        {"email": "editor@example.com", "role": "boss"},
        "role",
    ),
]


def _shown(page: str, field: str) -> str:
    match = re.search(rf'id="{re.escape(field)}-error"[^>]*>(.*?)</p>', page, re.S)
    assert match, f"no error beside {field!r}"
    return html.unescape(match.group(1)).strip()


def test_dashboard_and_api_give_the_same_verdict(
    site: Site, people: dict[str, Person], project: Project, api: Api
) -> None:
    # One test over the table (each case stores nothing): the fixtures cost more than a case.
    browsers = {name: site.signed_in(people[name]) for name in ("root", "owner")}
    for name, page_path, form, method, api_path, body, field in CASES:
        person = "root" if page_path == "/projects" else "owner"
        own = api_path not in ("/v1/me/tokens", "/v1/projects")
        headers = people[person].headers(project.id if own else None)
        r = api.http.request(method, api_path, json=body, headers=headers)
        assert r.status_code == 422, (name, r.text)
        error = r.json()["error"]
        assert error["field"] == field, name
        page = browsers[person].post(page_path.format(p=project.id), form)
        assert page.status_code == 422, (name, page.text[:500])
        assert _shown(page.text, field) == error["message"], name
