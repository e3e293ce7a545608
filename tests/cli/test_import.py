"""`promptops import langfuse|promptlayer` against fakes of each peer's public API and a live
PromptOps server (SQLite and PostgreSQL): every prompt, version (in order) and label lands;
a second run imports nothing; --dry-run writes nothing; what cannot be mapped is named."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from promptops.cli.importers.promptlayer import convert_template
from promptops.cli.importers.source import Unmappable, slug_for
from tests.cli.test_commands import run
from tests.fakes.peers import FakeLangfuse, FakePromptLayer
from tests.support import Api, Project, live_server

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture
def langfuse() -> Iterator[FakeLangfuse]:
    fake = FakeLangfuse()
    fake.add(
        "summary",
        "text",
        {"prompt": "Summarise {{document}}", "config": {"model": "gpt-4o"}, "labels": ["staging"]},
        {
            "prompt": "Summarise in {{words}} words:\n{{document}}",
            "config": {"model": "gpt-4o", "temperature": 0.3, "max_tokens": 200},
            "labels": ["production", "canary"],
            "commitMessage": "shorter",
        },
        {"prompt": "Summarise {{ document }} briefly", "config": {"model": "gpt-4o-mini"}},
    )
    fake.add(
        "support/reply",
        "chat",
        {
            "prompt": [
                {"role": "system", "content": "You help customers of {{product}}."},
                {"type": "placeholder", "name": "history"},
                {"type": "chatmessage", "role": "user", "content": "{{question}}"},
            ],
            "config": {
                "model": "claude-sonnet-4",
                "temperature": 0.2,
                "top_p": 0.9,
                "stop": "END",
                "tools": [WEATHER_TOOL],
                "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
                "supported_languages": ["en", "de"],
            },
            "labels": ["production"],
        },
    )
    fake.add("no-model", "text", {"prompt": "Hello {{name}}"})
    fake.add(
        "odd-roles",
        "chat",
        {"prompt": [{"role": "user", "content": "fine"}], "config": {"model": "m"}},
        {"prompt": [{"role": "function", "content": "x"}], "config": {"model": "m"}},
    )
    fake.add("later", "text", {"prompt": "one", "config": {"model": "m"}})
    with live_server(fake.app) as srv:
        fake.base_url = srv.base_url  # type: ignore[attr-defined]
        yield fake


@pytest.fixture
def promptlayer() -> Iterator[FakePromptLayer]:
    fake = FakePromptLayer()
    chat = {
        "type": "chat",
        "input_variables": ["product", "question"],
        "template_format": "f-string",
        "messages": [
            {
                "role": "system",
                "content": [
                    {"type": "text", "text": "You help customers of {product}. Use {{JSON}}."}
                ],
            },
            {"role": "placeholder", "name": "history", "content": []},
            {"role": "user", "content": [{"type": "text", "text": "{question}"}]},
        ],
        "tools": [WEATHER_TOOL],
        "tool_choice": "auto",
    }
    fake.add(
        "support_reply",
        {
            "prompt_template": chat,
            "metadata": {"model": {"provider": "openai", "name": "gpt-4o", "parameters": {}}},
        },
        None,  # version 2 was deleted
        {
            "prompt_template": chat,
            "metadata": {
                "model": {
                    "provider": "openai",
                    "name": "gpt-4o",
                    "parameters": {"temperature": 0.4, "max_tokens": 300, "seed": 7},
                },
                "team": "care",
            },
            "commit_message": "warmer",
        },
    )
    fake.label("support_reply", "prod", 3)
    fake.label("support_reply", "dev", 1)
    fake.label("support_reply", "experiment", 1)
    completion = {
        "type": "completion",
        "template_format": "jinja2",
        "content": [{"type": "text", "text": "Translate {{ text }} into {{lang}}."}],
    }
    fake.add(
        "translate",
        {
            "prompt_template": completion,
            "metadata": {"model": {"provider": "openai", "name": "gpt-4o-mini"}},
        },
        {
            "prompt_template": {
                **completion,
                "content": [{"type": "text", "text": "{% if x %}y{% endif %}"}],
            },
            "metadata": {"model": {"provider": "openai", "name": "gpt-4o-mini"}},
        },
    )
    fake.add(
        "spec",
        {
            "prompt_template": {
                **completion,
                "template_format": "f-string",
                "content": [{"type": "text", "text": "{amount:.2f}"}],
            }
        },
    )
    with live_server(fake.app) as srv:
        fake.base_url = srv.base_url  # type: ignore[attr-defined]
        yield fake


def _langfuse(fake: FakeLangfuse, server: str, key: str, *extra: str) -> list[str]:
    return [
        "import",
        "langfuse",
        "--url",
        server,
        "--key",
        key,
        "--langfuse-url",
        fake.base_url,  # type: ignore[attr-defined]
        "--public-key",
        "pk-lf-test",
        "--secret-key",
        "sk-lf-test",
        *extra,
    ]


def _versions(api: Api, key: str, slug: str) -> list[dict[str, Any]]:
    body = api.as_(key).get(f"/v1/prompts/{slug}/versions", params={"limit": 200}).json()
    return sorted(body["data"], key=lambda v: v["version"])


def _active(api: Api, key: str, slug: str) -> dict[str, int | None]:
    envs = api.as_(key).get(f"/v1/prompts/{slug}/deployments").json()["environments"]
    return {env: (row or {}).get("version") for env, row in envs.items()}


def test_langfuse_import_versions_labels_and_what_could_not_be_mapped(
    admin_key: str,
    langfuse: FakeLangfuse,
    server: str,
    api: Api,
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    prod_key = api.new_key(admin_key, "production", "write", project_id=project.id)
    code, out, err = run(capsys, *_langfuse(langfuse, server, project.key, "--json"))
    assert code == 1  # odd-roles v2 and the production/staging labels of a dev key
    report = {p["slug"]: p for p in json.loads(out)["prompts"]}
    assert set(report) == {"summary", "support-reply", "no-model", "odd-roles", "later"}
    assert "could not be imported" in err

    summary = _versions(api, project.key, "summary")
    assert [v["text"] for v in summary] == [
        "Summarise {{document}}",
        "Summarise in {{words}} words:\n{{document}}",
        "Summarise {{ document }} briefly",
    ]
    second = summary[1]
    assert (second["model"], second["temperature"], second["max_tokens"]) == ("gpt-4o", 0.3, 200)
    assert second["commit_message"] == "shorter"
    assert second["metadata"]["imported"] == {
        "from": "langfuse",
        "name": "summary",
        "version": 2,
        "created_at": "2026-02-01T10:00:00.000Z",
        "created_by": "API",
        "labels": ["production", "canary"],
    }
    # latest -> dev (no explicit dev label); a dev key moves dev, not the others.
    assert _active(api, project.key, "summary")["dev"] == 3
    problems = report["summary"]["problems"]
    assert any("production not moved" in p and "'dev'" in p for p in problems), problems

    [chat] = _versions(api, project.key, "support-reply")
    assert chat["messages"] == [
        {"role": "system", "content": "You help customers of {{product}}."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{question}}"},
    ]
    assert chat["tools"] == [WEATHER_TOOL] and chat["tool_choice"] == "get_weather"
    assert chat["params"] == {"top_p": 0.9, "stop": ["END"]}
    assert chat["metadata"]["imported"]["config"] == {"supported_languages": ["en", "de"]}
    assert any("supported_languages" in n for n in report["support-reply"]["notes"])
    prompt = api.as_(project.key).get("/v1/prompts/support-reply").json()
    assert prompt["name"] == "support/reply" and prompt["type"] == "chat"

    [plain] = _versions(api, project.key, "no-model")
    assert plain["model"] == "gpt-4o-mini"
    assert any("no model" in n for n in report["no-model"]["notes"])
    assert [
        v["metadata"]["imported"]["version"] for v in _versions(api, project.key, "odd-roles")
    ] == [1]
    assert any("'function'" in p for p in report["odd-roles"]["problems"])

    # Again with a production key: nothing new, and production moves now.
    code, out, _ = run(capsys, *_langfuse(langfuse, server, prod_key, "--json"))
    again = {p["slug"]: p for p in json.loads(out)["prompts"]}
    assert all(p["versions_created"] == [] for p in again.values())
    assert again["summary"]["versions_already_imported"] == 3
    assert again["summary"]["promoted"] == {"production": 2}
    assert _active(api, project.key, "summary") == {"dev": 3, "staging": None, "production": 2}
    assert len(_versions(api, project.key, "summary")) == 3


def test_langfuse_dry_run_writes_nothing_and_a_new_version_is_picked_up(
    langfuse: FakeLangfuse,
    server: str,
    api: Api,
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, _ = run(capsys, *_langfuse(langfuse, server, project.key, "--dry-run"))
    assert "would create 3 version(s)" in out and "nothing was written" in out
    assert api.as_(project.key).get("/v1/prompts").json()["data"] == []

    run(capsys, *_langfuse(langfuse, server, project.key))
    langfuse.add("later", "text", {"prompt": "two", "config": {"model": "m"}})
    code, out, _ = run(capsys, *_langfuse(langfuse, server, project.key, "--json"))
    assert code == 1  # odd-roles v2 and the labels a dev key cannot move, as before
    created = {p["slug"]: p["versions_created"] for p in json.loads(out)["prompts"]}
    assert created["later"] == [{"from": 2, "version": 2}]
    assert [s for s, made in created.items() if made] == ["later"]
    assert _active(api, project.key, "later")["dev"] == 2  # latest moved with it


def test_langfuse_bad_credentials_and_an_unreachable_peer_are_clear(
    langfuse: FakeLangfuse, server: str, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = _langfuse(langfuse, server, project.key)
    argv[argv.index("sk-lf-test")] = "wrong"
    code, _, err = run(capsys, *argv)
    assert code == 1 and "refused the credentials" in err and "LANGFUSE_SECRET_KEY" in err
    argv = _langfuse(langfuse, server, project.key)
    argv[argv.index("--langfuse-url") + 1] = "http://127.0.0.1:9"
    code, _, err = run(capsys, *argv)
    assert code == 1 and "cannot reach Langfuse" in err
    code, _, err = run(capsys, "import", "langfuse", "--url", server, "--key", project.key)
    assert code == 1 and "--public-key" in err


def test_a_slug_taken_by_a_prompt_made_here_is_left_alone(
    langfuse: FakeLangfuse,
    server: str,
    api: Api,
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    api.new_prompt(project.key, slug="later", type="text")
    api.new_version(project.key, slug="later", text="mine")
    code, out, _ = run(capsys, *_langfuse(langfuse, server, project.key, "--json"))
    assert code == 1
    report = {p["slug"]: p for p in json.loads(out)["prompts"]}
    assert any("not imported from langfuse" in p for p in report["later"]["problems"])
    assert [v["text"] for v in _versions(api, project.key, "later")] == ["mine"]


def test_promptlayer_import(
    promptlayer: FakePromptLayer,
    server: str,
    api: Api,
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    argv = [
        "import",
        "promptlayer",
        "--url",
        server,
        "--key",
        project.key,
        "--promptlayer-url",
        promptlayer.base_url,  # type: ignore[attr-defined]
        "--api-key",
        "pl_test",
        "--json",
    ]
    code, out, _ = run(capsys, *argv)
    assert code == 1  # translate v2 (a Jinja statement), spec (a format spec), prod label
    report = {p["slug"]: p for p in json.loads(out)["prompts"]}

    versions = _versions(api, project.key, "support_reply")
    assert [v["metadata"]["imported"]["version"] for v in versions] == [1, 3]
    latest = versions[-1]
    assert latest["messages"] == [
        {"role": "system", "content": "You help customers of {{product}}. Use {JSON}."},
        {"type": "placeholder", "name": "history"},
        {"role": "user", "content": "{{question}}"},
    ]
    assert latest["tools"] == [WEATHER_TOOL] and latest["tool_choice"] == "auto"
    assert (latest["model"], latest["temperature"], latest["max_tokens"]) == ("gpt-4o", 0.4, 300)
    assert latest["params"] == {"seed": 7}
    imported = latest["metadata"]["imported"]
    assert imported["provider"] == "openai" and imported["metadata"] == {"team": "care"}
    assert imported["labels"] == ["prod"] and latest["commit_message"] == "warmer"
    assert _active(api, project.key, "support_reply")["dev"] == versions[0]["version"]
    assert any("production not moved" in p for p in report["support_reply"]["problems"])

    [translate] = _versions(api, project.key, "translate")
    assert translate["text"] == "Translate {{text}} into {{lang}}."
    assert any("Jinja statement" in p for p in report["translate"]["problems"])
    assert _versions(api, project.key, "spec") == []
    assert any("format spec" in p for p in report["spec"]["problems"])

    code, out, _ = run(capsys, *argv)
    assert all(p["versions_created"] == [] for p in json.loads(out)["prompts"])
    assert len(_versions(api, project.key, "support_reply")) == 2


def test_f_string_and_jinja_conversion() -> None:
    assert (
        convert_template("Hi {name}, {{literal}} {a.b}", "f-string")
        == "Hi {{name}}, {literal} {{a.b}}"
    )
    assert convert_template("{{ x }} and {{y}}", "jinja2") == "{{x}} and {{y}}"
    for text, fmt, problem in [
        ("{x!r}", "f-string", "format spec"),
        ("{x[0]}", "f-string", "plain variable"),
        ("{{{{x", "f-string", "literal '{{'"),
        ("{{{x}", "f-string", "right before"),
        ("{unclosed", "f-string", "does not parse"),
        ("{{ x | upper }}", "jinja2", "Jinja expression"),
        ("{# note #}", "jinja2", "Jinja comment"),
        ("x", "mustache", "template format"),
    ]:
        with pytest.raises(Unmappable, match=problem):
            convert_template(text, fmt)


def test_slugs_for_peer_names() -> None:
    taken: set[str] = set()
    assert slug_for("Support / Reply", taken) == "support-reply"
    assert slug_for("support-reply", taken) == "support-reply-2"
    assert slug_for("!!!", taken) == "prompt"
    assert len(slug_for("x" * 300, taken)) == 100


def test_a_personal_token_moves_every_label_and_a_protected_one_waits(
    langfuse: FakeLangfuse,
    server: str,
    app: Any,
    api: Api,
    admin_key: str,
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.dashboard.conftest import make_person

    editor = make_person(app, "editor@example.com", project_id=project.id, role="editor")
    protect = api.as_(admin_key).request(
        "PUT",
        "/v1/environments/production",
        params={"project_id": project.id},
        json={"protected": True},
    )
    assert protect.status_code == 200, protect.text
    argv = _langfuse(langfuse, server, editor.token, "--json")
    code, out, err = run(capsys, *argv)
    assert code == 1 and "pass --project-id" in err  # a token names its project
    code, out, _ = run(capsys, *argv, "--project-id", project.id)
    report = {p["slug"]: p for p in json.loads(out)["prompts"]}
    assert report["summary"]["promoted"] == {"staging": 1}  # dev already has the newest
    assert any("change request" in n for n in report["summary"]["notes"])
    assert _active(api, project.key, "summary") == {"dev": 3, "staging": 1, "production": None}
    assert code == 1  # odd-roles v2 only
    assert [p for r in report.values() for p in r["problems"]] == [
        "version 2: message 0 has the role 'function' (PromptOps: system, developer, user,"
        " assistant, tool)",
        "label 'latest' is on version 2, which was not imported: dev not moved",
    ]
