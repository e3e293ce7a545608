"""Prompts (create, read, update, list, search) and their immutable, numbered versions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.server.helpers import assert_error, quick_client, row_counts
from tests.support import Api, Project

VERSION_FIELDS = {
    "slug",
    "type",
    "version",
    "messages",
    "text",
    "inputs",
    "params",
    "tools",
    "tool_choice",
    "response_format",
    "snippets",
    "system_prompt",
    "user_template",
    "variables",
    "model",
    "temperature",
    "max_tokens",
    "metadata",
    "commit_message",
    "author",
    "created_at",
}


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    yield from quick_client(app)


# ---- prompts ----------------------------------------------------------------------------


def test_create_and_get_prompt(api: Api, project: Project) -> None:
    w = api.as_(project.key)
    r = w.post(
        "/v1/prompts",
        json={"slug": "onboarding-email", "name": "Onboarding", "description": "Welcome"},
    )
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["slug"] == "onboarding-email"
    assert (body["name"], body["description"]) == ("Onboarding", "Welcome")
    assert body["latest_version"] == 0
    assert body["deployments"] == {"dev": None, "staging": None, "production": None}
    got = w.get("/v1/prompts/onboarding-email")
    assert got.status_code == 200 and got.json() == body
    assert_error(w.get("/v1/prompts/missing"), 404, code="not_found")


def test_valid_slugs(api: Api, project: Project) -> None:
    for slug in ["a", "x9", "onboarding-email", "snake_case_1", "0-starts", "a" * 100, "active"]:
        api.new_prompt(project.key, slug)
        r = api.as_(project.key).get(f"/v1/prompts/{slug}")
        assert r.status_code == 200 and r.json()["slug"] == slug, slug


INVALID_SLUGS = [
    "",
    "Upper",
    "has space",
    "-leading",
    "trailing-",
    "_under",
    "a/b",
    "a.b",
    "a" * 101,
    "café",
    "x'; DROP TABLE prompts;--",
    "%2e%2e",
    "é",
]


def test_invalid_slugs_are_refused(api: Api, project: Project, app: Any) -> None:
    before = row_counts(app)
    for slug in INVALID_SLUGS:
        r = api.as_(project.key).post("/v1/prompts", json={"slug": slug, "name": "N"})
        detail = assert_error(r, 422, field="slug")
        assert "slug" in detail["message"], slug
    assert row_counts(app) == before


def test_duplicate_slug_is_409(api: Api, project: Project, app: Any) -> None:
    api.new_prompt(project.key, "dup", description="first")
    before = row_counts(app)
    r = api.as_(project.key).post("/v1/prompts", json={"slug": "dup", "name": "Second"})
    assert_error(r, 409, code="conflict", field="slug")
    assert row_counts(app) == before
    assert api.as_(project.key).get("/v1/prompts/dup").json()["description"] == "first"


def test_update_prompt(api: Api, project: Project) -> None:
    w = api.as_(project.key)
    created = api.new_prompt(project.key, "p", description="old")
    r = w.patch("/v1/prompts/p", json={"name": "New name"})
    assert r.status_code == 200, r.text
    assert (r.json()["name"], r.json()["description"]) == ("New name", "old")
    assert r.json()["updated_at"] >= created["updated_at"]
    r = w.patch("/v1/prompts/p", json={"description": None})
    assert r.status_code == 200 and r.json()["description"] is None
    r = w.patch("/v1/prompts/p", json={"description": "Ünïcødé ✓ שלום 👋"})
    assert r.json()["description"] == "Ünïcødé ✓ שלום 👋"
    assert w.get("/v1/prompts/p").json()["description"] == "Ünïcødé ✓ שלום 👋"
    assert w.get("/v1/prompts/p").json()["name"] == "New name"


BAD_UPDATES = [
    ({"name": None}, "name"),
    ({"name": ""}, "name"),
    ({"name": 3}, "name"),
    ({"slug": "renamed"}, "slug"),
    ({"latest_version": 9}, "latest_version"),
    ({"description": ["x"]}, "description"),
]


def test_update_prompt_rejects_bad_input(api: Api, project: Project, app: Any) -> None:
    api.new_prompt(project.key, "p")
    before = row_counts(app)
    for body, field in BAD_UPDATES:
        r = api.as_(project.key).patch("/v1/prompts/p", json=body)
        assert_error(r, 422, field=field)
    assert row_counts(app) == before
    assert api.as_(project.key).get("/v1/prompts/p").json()["name"] == "P"


def test_update_missing_prompt_is_404(api: Api, project: Project) -> None:
    assert_error(api.as_(project.key).patch("/v1/prompts/nope", json={"name": "x"}), 404)


def test_list_pagination_covers_everything_once(api: Api, project: Project) -> None:
    slugs = ["a", "a-b", "a_b", "ab", "b1", "b-2", "c", "c_c", "d-1-2", "zz", "0x", "9"]
    for slug in slugs:
        api.new_prompt(project.key, slug)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 5}
        if cursor is not None:
            params["cursor"] = cursor
        r = api.as_(project.key).get("/v1/prompts", params=params)
        assert r.status_code == 200, r.text
        page = r.json()
        assert len(page["data"]) <= 5
        seen += [p["slug"] for p in page["data"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert pages < 10, "pagination does not end"
    assert sorted(seen) == sorted(slugs)
    assert len(seen) == len(set(seen)) == len(slugs)
    # One page of everything agrees with the traversal's order.
    full = api.as_(project.key).get("/v1/prompts", params={"limit": 200}).json()
    assert [p["slug"] for p in full["data"]] == seen
    assert full["next_cursor"] is None


def test_list_default_and_limits(api: Api, project: Project) -> None:
    api.new_prompt(project.key, "only")
    w = api.as_(project.key)
    r = w.get("/v1/prompts")
    assert r.status_code == 200
    assert [p["slug"] for p in r.json()["data"]] == ["only"]
    assert r.json()["next_cursor"] is None
    for bad in ("0", "-1", "201", "ten", "1.5"):
        assert_error(w.get("/v1/prompts", params={"limit": bad}), 422, field="limit")
    assert_error(w.get("/v1/prompts", params={"cursor": "x" * 101}), 422, field="cursor")


def test_search(api: Api, project: Project) -> None:
    api.new_prompt(project.key, "welcome-email")
    api.as_(project.key).post("/v1/prompts", json={"slug": "reset", "name": "Password RESET mail"})
    api.as_(project.key).post("/v1/prompts", json={"slug": "pct", "name": "100% off_sale"})
    w = api.as_(project.key)

    def found(q: str) -> list[str]:
        r = w.get("/v1/prompts", params={"q": q})
        assert r.status_code == 200, r.text
        return sorted(p["slug"] for p in r.json()["data"])

    assert found("welcome") == ["welcome-email"]
    assert found("EMAIL") == ["welcome-email"]  # slug match, case-insensitive
    assert found("reset mail") == ["reset"]  # name match, case-insensitive
    assert found("mail") == ["reset", "welcome-email"]
    assert found("%") == ["pct"]  # LIKE wildcards are literal
    assert found("_") == ["pct"]
    assert found("'; drop table prompts; --") == []
    assert found("zzz") == []
    assert len(w.get("/v1/prompts").json()["data"]) == 3


# ---- versions ---------------------------------------------------------------------------


def test_versions_are_numbered_and_described(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    w = api.as_(project.key)
    body = {
        "system_prompt": "You help {{user}} with {{topic}}.",
        "user_template": "Question from {{user}}: {{question}}",
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 256,
        "metadata": {"team": "growth"},
        "commit_message": "first",
        "author": "ada@example.com",
    }
    r = w.post("/v1/prompts/greeting/versions", json=body)
    assert r.status_code == 201, r.text
    v1 = r.json()
    assert set(v1) == VERSION_FIELDS | {"created"}
    assert v1["version"] == 1
    assert v1["variables"] == ["user", "topic", "question"]
    for field in ("system_prompt", "user_template", "model", "temperature", "max_tokens"):
        assert v1[field] == body[field]
    assert (v1["metadata"], v1["commit_message"], v1["author"]) == (
        {"team": "growth"},
        "first",
        "ada@example.com",
    )
    assert v1["created_at"]
    v1.pop("created")
    v2 = api.new_version(project.key, user_template="plain")
    v3 = api.new_version(project.key)
    assert (v2["version"], v3["version"]) == (2, 3)
    v3.pop("created")
    # Defaults: empty system prompt, temperature 1.0, author = the key's prefix.
    assert (v2["system_prompt"], v2["temperature"], v2["max_tokens"]) == ("", 1.0, None)
    assert v2["author"] == project.prefix and v2["metadata"] == {} and v2["variables"] == []
    assert w.get("/v1/prompts/greeting").json()["latest_version"] == 3
    assert w.get("/v1/prompts/greeting/versions/1").json() == v1
    assert w.get("/v1/prompts/greeting/versions/3").json() == v3
    assert_error(w.get("/v1/prompts/greeting/versions/4"), 404)
    assert_error(w.get("/v1/prompts/greeting/versions/0"), 422, field="number")
    assert_error(w.get("/v1/prompts/greeting/versions/abc"), 422, field="number")


def test_a_new_version_is_active_in_dev_at_once(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    w = api.as_(project.key)
    assert_error(w.get("/v1/prompts/greeting/active"), 404)
    for n in (1, 2):
        api.new_version(project.key, user_template=f"v{n} {{{{x}}}}")
        r = w.get("/v1/prompts/greeting/active")
        assert r.status_code == 200
        assert (r.json()["version"], r.json()["user_template"]) == (n, f"v{n} {{{{x}}}}")
        assert w.get("/v1/prompts/greeting").json()["deployments"]["dev"] == n


def test_active_404_says_whether_the_prompt_exists(
    api: Api, project: Project, admin_key: str
) -> None:
    w = api.as_(project.key)
    detail = assert_error(w.get("/v1/prompts/nope/active"), 404, code="not_found")
    assert detail["message"] == "prompt 'nope' not found"
    # The remembered "not found" goes when the prompt is created.
    api.new_prompt(project.key, "nope")
    detail = assert_error(w.get("/v1/prompts/nope/active"), 404, code="not_found")
    assert detail["message"] == "prompt 'nope' has no version active in 'dev'"
    api.new_version(project.key, "nope")
    assert w.get("/v1/prompts/nope/active").status_code == 200
    staging = api.as_(api.new_key(admin_key, "staging", "read", project_id=project.id))
    detail = assert_error(staging.get("/v1/prompts/nope/active"), 404)
    assert detail["message"] == "prompt 'nope' has no version active in 'staging'"
    detail = assert_error(staging.get("/v1/prompts/missing/active"), 404)
    assert detail["message"] == "prompt 'missing' not found"


def test_pushing_the_dev_version_again_creates_nothing(
    api: Api, project: Project, app: Any
) -> None:
    """Content identical to the version active in dev answers 200 with that version and
    `created: false`: no version, deployment, audit entry or event (CI pushes are
    idempotent). Any content field that differs makes a new version; the commit message
    and author do not count as content."""
    api.new_prompt(project.key)
    w = api.as_(project.key)
    body = {
        "system_prompt": "Be brief.",
        "user_template": "Hi {{name}}",
        "model": "gpt-4o-mini",
        "temperature": 0.3,
        "max_tokens": 100,
        "metadata": {"team": "growth"},
        "commit_message": "first",
    }
    first = w.post("/v1/prompts/greeting/versions", json=body)
    assert first.status_code == 201 and first.json()["created"] is True
    assert set(first.json()) == VERSION_FIELDS | {"created"}
    before = row_counts(app)
    again = w.post(
        "/v1/prompts/greeting/versions", json={**body, "commit_message": "retry", "author": "ci"}
    )
    assert again.status_code == 200, again.text
    assert again.json() == {**first.json(), "created": False}
    assert row_counts(app) == before
    for field, value in [
        ("system_prompt", "Be very brief."),
        ("user_template", "Hi {{name}}!"),
        ("model", "gpt-4o"),
        ("temperature", 0.4),
        ("max_tokens", None),
        ("metadata", {"team": "growth", "x": 1}),
    ]:
        r = w.post("/v1/prompts/greeting/versions", json={**body, field: value})
        assert r.status_code == 201 and r.json()["created"] is True, field
        # And back to the first content: a new version again (it differs from dev now).
        r = w.post("/v1/prompts/greeting/versions", json=body)
        assert r.status_code == 201, field
    # Only the version active in dev counts: after a rollback in dev, the newest content
    # is not the dev version any more, so pushing it makes a new version.
    latest = w.get("/v1/prompts/greeting").json()["latest_version"]
    assert w.post("/v1/prompts/greeting/deployments/dev/rollback").status_code == 200
    r = w.post("/v1/prompts/greeting/versions", json=body)
    assert (r.status_code, r.json()["version"]) == (201, latest + 1)


def test_list_versions_newest_first_with_cursor(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    for _ in range(5):
        api.new_version(project.key)
    w = api.as_(project.key)
    seen: list[int] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(5):
        page = w.get("/v1/prompts/greeting/versions", params=params).json()
        seen += [v["version"] for v in page["data"]]
        if page["next_cursor"] is None:
            break
        params["cursor"] = page["next_cursor"]
    assert seen == [5, 4, 3, 2, 1]
    all_versions = w.get("/v1/prompts/greeting/versions").json()
    assert [v["version"] for v in all_versions["data"]] == [5, 4, 3, 2, 1]
    assert all_versions["next_cursor"] is None


def test_versions_are_immutable(api: Api, project: Project, app: Any) -> None:
    api.new_prompt(project.key)
    v1 = api.new_version(project.key, user_template="original {{a}}", metadata={"k": 1})
    v1.pop("created")
    w = api.as_(project.key)
    change = {"user_template": "changed", "model": "other", "metadata": {"k": 2}}
    before = row_counts(app)
    for method in ("PUT", "PATCH", "DELETE", "POST"):
        r = w.request(method, "/v1/prompts/greeting/versions/1", json=change)
        assert_error(r, 405, code="method_not_allowed")
    for method in ("PUT", "PATCH", "DELETE"):
        assert_error(w.request(method, "/v1/prompts/greeting/versions", json=change), 405)
    assert row_counts(app) == before
    api.new_version(project.key, user_template="second")
    # Deploying elsewhere, renaming the prompt: v1 stays byte-for-byte what it was.
    w.patch("/v1/prompts/greeting", json={"name": "Renamed"})
    assert w.get("/v1/prompts/greeting/versions/1").json() == v1
    # No route in the API document changes a version (eval results are recorded beside it).
    spec = api.get("/openapi.json").json()
    version_paths = [p for p in spec["paths"] if "/versions/" in p]
    evals = "/v1/prompts/{slug}/versions/{number}/evals"
    assert sorted(version_paths) == sorted(
        ["/v1/prompts/{slug}/versions/{number}", evals, "/v1/agents/{slug}/versions/{number}"]
    )
    r = w.post(
        evals.replace("{slug}", "greeting").replace("{number}", "1"),
        json={"name": "q", "score": 1, "passed": True},
    )
    assert r.status_code == 201
    assert w.get("/v1/prompts/greeting/versions/1").json() == v1
    assert set(spec["paths"]["/v1/prompts/{slug}/versions/{number}"]) == {"get"}
    assert set(spec["paths"]["/v1/agents/{slug}/versions/{number}"]) == {"get"}
    assert set(spec["paths"]["/v1/prompts/{slug}/versions"]) == {"get", "post"}


TEMPLATE_ERRORS = [
    ("user_template", "Hello {{name", "line 1, column 7"),
    ("user_template", "Hello }} there", "line 1, column 7"),
    ("user_template", "line one\nline two {{ bad name }}", "line 2, column 10"),
    ("user_template", "a\nb\n  {{1abc}}", "line 3, column 3"),
    ("user_template", "{{}}", "line 1, column 1"),
    ("user_template", "{{ a {{ b }}", "line 1, column 1"),
    ("system_prompt", "You are {{role", "line 1, column 9"),
    ("system_prompt", "ok\n}}", "line 2, column 1"),
    ("system_prompt", "{{ na-me }}", "line 1, column 1"),
]


def test_template_errors_name_field_line_and_column(api: Api, project: Project, app: Any) -> None:
    api.new_prompt(project.key)
    api.new_version(project.key)
    before = row_counts(app)
    for field, text, where in TEMPLATE_ERRORS:
        body = {"user_template": "fine {{x}}", "model": "m", field: text}
        r = api.as_(project.key).post("/v1/prompts/greeting/versions", json=body)
        detail = assert_error(r, 422, field=field)
        assert where in detail["message"], (text, detail)
        assert field in detail["message"]
    assert row_counts(app) == before
    assert api.as_(project.key).get("/v1/prompts/greeting").json()["latest_version"] == 1


def test_escaped_braces_and_repeated_variables(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    v = api.new_version(
        project.key,
        system_prompt="{{ b }} and {{a}} and {{b}}",
        user_template='JSON: \\{{"k": 1\\}} for {{ a }} and {{c_1}}',
    )
    assert v["variables"] == ["b", "a", "c_1"]


def test_metadata_round_trips(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    metadata = {
        "owner": "growth-team",
        "nested": {"list": [1, 2.5, -3, True, False, None, "x"], "empty": {}, "e": []},
        "unicode": "héllo ✓ 🎉 مرحبا",
        "big": 12345678901234567890,
        "float": 1.25e-7,
        "quote": "he said \"hi\" and it's '; DROP TABLE x; --",
        "": "empty key",
    }
    created = api.new_version(project.key, metadata=metadata)
    assert created["metadata"] == metadata
    w = api.as_(project.key)
    assert w.get("/v1/prompts/greeting/versions/1").json()["metadata"] == metadata
    assert w.get("/v1/prompts/greeting/active").json()["metadata"] == metadata


BAD_VERSION_FIELDS = [
    ({"extra": 1}, "extra"),
    ({"temperture": 0.5}, "temperture"),
    ({"user_template": None}, "user_template"),
    ({"user_template": 5}, "user_template"),
    ({"user_template": ["a"]}, "user_template"),
    ({"model": None}, "model"),
    ({"model": ""}, "model"),
    ({"model": 4}, "model"),
    ({"system_prompt": None}, "system_prompt"),
    ({"temperature": "0.5"}, "temperature"),
    ({"temperature": True}, "temperature"),
    ({"temperature": -0.1}, "temperature"),
    ({"temperature": 2.01}, "temperature"),
    ({"temperature": None}, "temperature"),
    ({"max_tokens": 0}, "max_tokens"),
    ({"max_tokens": -5}, "max_tokens"),
    ({"max_tokens": 1.5}, "max_tokens"),
    ({"max_tokens": "10"}, "max_tokens"),
    ({"max_tokens": 10**12}, "max_tokens"),
    ({"metadata": []}, "metadata"),
    ({"metadata": "x"}, "metadata"),
    ({"metadata": 1}, "metadata"),
    ({"commit_message": 5}, "commit_message"),
    ({"author": ["me"]}, "author"),
    ({"author": "x" * 201}, "author"),
    ({"model": "m" * 201}, "model"),
]


def test_version_input_errors_name_the_field(api: Api, project: Project, app: Any) -> None:
    api.new_prompt(project.key)
    before = row_counts(app)
    for patch, field in BAD_VERSION_FIELDS:
        body = {"user_template": "Hi {{name}}", "model": "gpt-4o-mini", **patch}
        r = api.as_(project.key).post("/v1/prompts/greeting/versions", json=body)
        detail = assert_error(r, 422, field=field)
        assert field in detail["message"], patch
    for missing, named in (("user_template", "messages"), ("model", "model")):
        body = {"user_template": "x", "model": "m"}
        del body[missing]
        r = api.as_(project.key).post("/v1/prompts/greeting/versions", json=body)
        assert_error(r, 422, field=named)
    assert row_counts(app) == before


def test_temperature_bounds_and_integer_temperature(api: Api, project: Project) -> None:
    api.new_prompt(project.key)
    for t in (0, 0.0, 2, 2.0, 1.337):
        v = api.new_version(project.key, temperature=t)
        assert v["temperature"] == t
    assert api.new_version(project.key, max_tokens=1)["max_tokens"] == 1


def test_version_for_missing_prompt_is_404(api: Api, project: Project, app: Any) -> None:
    before = row_counts(app)
    r = api.as_(project.key).post(
        "/v1/prompts/nope/versions", json={"user_template": "x", "model": "m"}
    )
    assert_error(r, 404)
    assert row_counts(app) == before
    assert_error(api.as_(project.key).get("/v1/prompts/nope/versions"), 404)
    assert_error(api.as_(project.key).get("/v1/prompts/nope/versions/1"), 404)
