"""Snippets: ``{{> slug}}`` served resolved; a snippet's move reaches its dependents'
``/active``, ETag and events at once; refusals at creation (422) and promotion (409)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from promptops.db.models import Event, PromptVersion
from promptops.domain import deployments, prompts
from promptops.domain.access import Actor
from promptops.domain.bootstrap import ensure_admin_key
from promptops.domain.changes import Change, ChangeKind
from promptops.server.app import create_app
from promptops.server.config import Settings
from promptops.server.notify import decode, encode
from tests.support import Api, PostgresDatabases


def text_prompt(api: Api, key: str, slug: str, *texts: str) -> None:
    api.new_prompt(key, slug, type="text")
    for text in texts:
        version(api, key, slug, text)


def version(api: Api, key: str, slug: str, text: str) -> dict[str, Any]:
    r = api.as_(key).post(f"/v1/prompts/{slug}/versions", json={"model": "m", "text": text})
    assert r.status_code == 201, r.text
    return dict(r.json())


def refused(api: Api, key: str, slug: str, body: dict[str, Any]) -> dict[str, Any]:
    r = api.as_(key).post(f"/v1/prompts/{slug}/versions", json={"model": "m", **body})
    assert r.status_code == 422, r.text
    return dict(r.json()["error"])


def deploy(api: Api, key: str, slug: str, env: str, number: int) -> Any:
    return api.as_(key).post(f"/v1/prompts/{slug}/deployments/{env}", json={"version": number})


def updates(app: Any, slug: str) -> list[dict[str, Any]]:
    """The prompt_template_updated events of ``slug``, oldest first."""
    with app.state.db.read() as session:
        rows = session.scalars(
            select(Event)
            .where(Event.type == "prompt_template_updated", Event.slug == slug)
            .order_by(Event.id)
        )
        return [dict(row.payload) for row in rows]


def test_a_snippets_move_changes_its_dependents_active_etag_and_events(
    api: Api, keys: dict[str, str], app: Any
) -> None:
    w, stage = keys["dev-write"], keys["staging-write"]
    text_prompt(api, w, "tone", "calm")
    text_prompt(api, w, "greet", "Be {{> tone}}.\n  {{> tone}}\nHi {{name}}")
    dev = api.as_(keys["dev-read"])
    first = dev.get("/v1/prompts/greet/active")
    assert first.status_code == 200
    assert first.json()["text"] == "Be calm.\n  calmHi {{name}}"
    assert first.json()["snippets"] == [{"slug": "tone", "version": 1}]
    etag = first.headers["etag"]
    assert dev.get("/v1/prompts/greet/active", headers={"If-None-Match": etag}).status_code == 304

    version(api, w, "tone", "warm\n")  # v2, auto-deployed to dev
    second = dev.get("/v1/prompts/greet/active", headers={"If-None-Match": etag})
    assert second.status_code == 200 and second.headers["etag"] != etag
    assert second.json()["text"] == "Be warm\n.\n  warm\nHi {{name}}"
    assert second.json()["snippets"] == [{"slug": "tone", "version": 2}]
    assert second.json()["version"] == 1  # the dependent's own deployment did not move
    [event] = updates(app, "greet")
    data = event["data"]
    assert (data["environment"], data["snippet"], data["version"]) == (
        "dev",
        {"slug": "tone", "version": 2},
        1,
    )
    assert data["prompt"]["text"] == second.json()["text"]
    assert data["prompt"]["deployment_id"] == second.json()["deployment_id"]

    # staging: the dependent cannot go where its snippet is not
    r = deploy(api, stage, "greet", "staging", 1)
    assert r.status_code == 409, r.text
    assert "'tone' has no version active in 'staging'" in r.json()["error"]["message"]
    assert deploy(api, stage, "tone", "staging", 1).status_code == 200
    assert deploy(api, stage, "greet", "staging", 1).status_code == 200
    staged = api.as_(keys["staging-read"])
    assert staged.get("/v1/prompts/greet/active").json()["text"].startswith("Be calm.")
    assert deploy(api, stage, "tone", "staging", 2).status_code == 200
    assert staged.get("/v1/prompts/greet/active").json()["text"].startswith("Be warm\n.")
    rollback = api.as_(stage).post("/v1/prompts/tone/deployments/staging/rollback")
    assert rollback.status_code == 200, rollback.text
    assert staged.get("/v1/prompts/greet/active").json()["text"].startswith("Be calm.")
    moved = [
        (e["data"]["environment"], e["data"]["snippet"]["version"]) for e in updates(app, "greet")
    ]
    assert moved == [("dev", 2), ("staging", 2), ("staging", 1)]
    # dev did not change with staging's moves
    assert dev.get("/v1/prompts/greet/active").json()["text"].startswith("Be warm\n.")


def test_pinned_and_nested_snippets(api: Api, keys: dict[str, str], app: Any) -> None:
    w = keys["dev-write"]
    text_prompt(api, w, "base", "B1")
    text_prompt(api, w, "mid", "[{{> base}}]")
    text_prompt(api, w, "pinned", "{{> base@1}}")
    text_prompt(api, w, "top", "{{> mid}}{{> pinned}}")
    dev = api.as_(keys["dev-read"])
    body = dev.get("/v1/prompts/top/active").json()
    assert body["text"] == "[B1]B1"
    assert body["snippets"] == [
        {"slug": "mid", "version": 1},
        {"slug": "base", "version": 1},
        {"slug": "pinned", "version": 1},
    ]
    version(api, w, "base", "B2")
    assert dev.get("/v1/prompts/top/active").json()["text"] == "[B2]B1"
    assert dev.get("/v1/prompts/pinned/active").json()["text"] == "B1"
    # mid and top take base as active in dev; pinned does not
    assert [e["data"]["slug"] for e in updates(app, "mid") + updates(app, "top")] == [
        "mid",
        "top",
    ]
    assert updates(app, "pinned") == []


def test_a_chat_prompt_includes_text_snippets(api: Api, keys: dict[str, str]) -> None:
    w = keys["dev-write"]
    text_prompt(api, w, "rules", "Be brief.")
    api.new_prompt(w, "chat")
    messages = [
        {"role": "system", "content": "{{> rules}} Always."},
        {"role": "user", "content": "{{q}}"},
    ]
    r = api.as_(w).post("/v1/prompts/chat/versions", json={"model": "m", "messages": messages})
    assert r.status_code == 201, r.text
    assert r.json()["snippets"] == [{"slug": "rules", "version": None}]
    body = api.as_(keys["dev-read"]).get("/v1/prompts/chat/active").json()
    assert body["messages"][0]["content"] == "Be brief. Always."
    assert body["system_prompt"] == "Be brief. Always."


def test_version_as_written_or_resolved_and_dependents(api: Api, keys: dict[str, str]) -> None:
    w = keys["dev-write"]
    text_prompt(api, w, "tone", "calm", "warm")
    text_prompt(api, w, "greet", "Be {{> tone}} and {{> tone@1}}")
    written = api.as_(w).get("/v1/prompts/greet/versions/1").json()
    assert written["text"] == "Be {{> tone}} and {{> tone@1}}"
    assert written["snippets"] == [
        {"slug": "tone", "version": None},
        {"slug": "tone", "version": 1},
    ]
    resolved = api.as_(w).get("/v1/prompts/greet/versions/1", params={"resolve": "dev"}).json()
    assert resolved["text"] == "Be warm and calm"
    assert resolved["snippets"] == [{"slug": "tone", "version": 2}, {"slug": "tone", "version": 1}]
    r = api.as_(w).get("/v1/prompts/greet/versions/1", params={"resolve": "production"})
    assert r.status_code == 409 and "'tone'" in r.json()["error"]["message"]
    bad = api.as_(w).get("/v1/prompts/greet/versions/1", params={"resolve": "moon"})
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "resolve"
    deps = api.as_(w).get("/v1/prompts/tone/dependents").json()["data"]
    assert deps == [
        {
            "slug": "greet",
            "name": "Greet",
            "versions": [
                {"version": 1, "pinned_version": None},
                {"version": 1, "pinned_version": 1},
            ],
            "environments": {"dev": 1},
        }
    ]
    assert api.as_(w).get("/v1/prompts/greet/dependents").json()["data"] == []


def test_creation_refuses_bad_references_naming_the_chain(
    api: Api, keys: dict[str, str], app: Any
) -> None:
    w = keys["dev-write"]
    text_prompt(api, w, "a", "A")
    api.new_prompt(w, "talk")
    api.as_(w).post(
        "/v1/prompts/talk/versions",
        json={"model": "m", "messages": [{"role": "user", "content": "hi"}]},
    )
    unknown = refused(api, w, "a", {"text": "{{> nope}}"})
    assert unknown["field"] == "text" and "(a -> nope)" in unknown["message"]
    chat = refused(api, w, "a", {"text": "{{> talk}}"})
    assert "'talk' is a chat prompt" in chat["message"]
    pinned = refused(api, w, "a", {"text": "{{> a@9}}"})
    assert "include itself" in pinned["message"]
    text_prompt(api, w, "b", "{{> a}}")
    missing = refused(api, w, "a", {"text": "x {{> b@7}}"})
    assert "'b' has no version 7" in missing["message"]
    cycle = refused(api, w, "a", {"text": "{{> b}}"})
    assert "(a -> b -> a)" in cycle["message"]
    own = refused(api, w, "a", {"text": "{{> a}}"})
    assert "(a -> a)" in own["message"]
    # in a chat prompt the field is the message's content
    api.new_prompt(w, "chat")
    r = api.as_(w).post(
        "/v1/prompts/chat/versions",
        json={"model": "m", "messages": [{"role": "user", "content": "{{> ghost}}"}]},
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "messages.0.content"
    # a prompt without a version active in dev
    api.new_prompt(w, "empty", type="text")
    empty = refused(api, w, "a", {"text": "{{> empty}}"})
    assert "'empty' has no version active in 'dev'" in empty["message"]
    # nothing half-stored: a still has its one version
    assert api.as_(w).get("/v1/prompts/a").json()["latest_version"] == 1


def test_nesting_deeper_than_five_is_refused(api: Api, keys: dict[str, str]) -> None:
    w = keys["dev-write"]
    text_prompt(api, w, "s5", "end")
    for n in range(4, -1, -1):
        text_prompt(api, w, f"s{n}", f"{{{{> s{n + 1}}}}}")  # s0 -> s1 -> ... -> s5: depth 5
    assert api.as_(keys["dev-read"]).get("/v1/prompts/s0/active").json()["text"] == "end"
    api.new_prompt(w, "top", type="text")
    deep = refused(api, w, "top", {"text": "{{> s0}}"})
    assert "more than 5 deep" in deep["message"]
    assert "(top -> s0 -> s1 -> s2 -> s3 -> s4 -> s5)" in deep["message"]
    # deepening a chain under an existing dependent is refused too
    text_prompt(api, w, "s6", "deeper")
    r = api.as_(w).post("/v1/prompts/s5/versions", json={"model": "m", "text": "{{> s6}}"})
    assert r.status_code == 409 and "more than 5 deep" in r.json()["error"]["message"]
    assert api.as_(w).get("/v1/prompts/s5").json()["latest_version"] == 1  # nothing stored


def test_a_text_that_cannot_be_written_in_place_is_refused(api: Api, keys: dict[str, str]) -> None:
    w = keys["dev-write"]
    text_prompt(api, w, "brace", "a {")
    api.new_prompt(w, "p", type="text")
    splice = refused(api, w, "p", {"text": "{{> brace}}{{x}}"})
    assert splice["field"] == "text" and "cannot be written in place" in splice["message"]


def test_active_explains_a_snippet_missing_in_its_environment(
    api: Api, keys: dict[str, str], app: Any, project: Any
) -> None:
    """Data from before the checks: a dependent active where its snippet never went."""
    w = keys["dev-write"]
    text_prompt(api, w, "tone", "calm")
    text_prompt(api, w, "greet", "Be {{> tone}}")
    actor = Actor(project_id=project.id, environment=None, role="write", label="test")
    with app.state.db.write() as session:
        prompt = prompts.get_prompt(session, project.id, "greet", lock=True)
        row = session.scalars(
            select(PromptVersion).where(PromptVersion.prompt_id == prompt.id)
        ).one()
        deployments.deploy(session, actor, prompt, "production", row, action="auto")
    prod = api.as_(keys["production-read"])
    r = prod.get("/v1/prompts/greet/active")
    assert r.status_code == 409, r.text
    message = r.json()["error"]["message"]
    assert "cannot be served in 'production'" in message and "'tone'" in message
    # promoting the snippet there serves the dependent at once (the error is not kept)
    assert deploy(api, keys["production-write"], "tone", "production", 1).status_code == 200
    assert prod.get("/v1/prompts/greet/active").json()["text"] == "Be calm"


def test_a_dependents_change_crosses_processes_like_any_change() -> None:
    """Other server processes hear of dependents through the same NOTIFY payload."""
    change = Change(
        ChangeKind.TEMPLATE_UPDATED,
        "p1",
        slug="greet",
        environment="staging",
        version=3,
        deployment_id=9,
        data={"snippet": {"slug": "tone", "version": 2}},
    )
    [heard] = decode(encode([change]))  # type: ignore[misc]
    assert (heard.kind, heard.slug, heard.environment) == ("template_updated", "greet", "staging")


@pytest.mark.postgres
def test_a_snippet_move_through_one_server_reaches_anothers_read_path(
    postgres: PostgresDatabases,
) -> None:
    """Two servers on one database (as two processes would be: each LISTENs on its own
    connection): B's in-memory entry of a dependent goes when A moves its snippet."""
    postgres.reset()
    settings = Settings(database_url=postgres.url, bcrypt_rounds=4, demo=False)
    app_a, app_b = create_app(settings), create_app(settings, run_migrations=False)
    with TestClient(app_a) as a, TestClient(app_b) as b:
        for app in (app_a, app_b):
            assert app.state.listener.listening.wait(5)
        with app_a.state.db.write() as session:
            admin = ensure_admin_key(session, rounds=4)
        assert admin is not None
        api = Api(a)
        w = api.new_project(admin).key
        text_prompt(api, w, "tone", "calm")
        text_prompt(api, w, "greet", "Be {{> tone}}")
        on_b = Api(b).as_(w)
        assert on_b.get("/v1/prompts/greet/active").json()["text"] == "Be calm"  # B holds it
        version(api, w, "tone", "warm")
        deadline = time.monotonic() + 2
        while on_b.get("/v1/prompts/greet/active").json()["text"] != "Be warm":
            assert time.monotonic() < deadline, "B still serves the old content"
            time.sleep(0.01)
