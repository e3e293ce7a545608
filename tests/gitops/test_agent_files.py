"""Agent files (``type: agent``, the workflow under ``definition``): parsed and written by the
GitOps file functions, and `promptops sync push/pull/status` against a live server on SQLite
and PostgreSQL: push creates the agent version, pull writes the same bytes, status sees no
drift, and a bad file is named with its field and stores nothing."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from promptops.gitops.files import PromptFileError, parse_prompt_file, prompt_file_text
from tests.cli.test_commands import run
from tests.support import Api, Project, live_server

# Canonical (what `sync pull` writes): fields at their default left out, `type` first.
REVIEW = """\
slug: review
name: Review
description: A person approves each ticket
type: agent
definition:
  inputs:
    - name: ticket
  start: review
  steps:
    review:
      type: wait
      prompt: Approve {{inputs.ticket}}?
      timeout_seconds: 3600.0
      next: route
    route:
      type: branch
      cases:
        - when: steps.review.output.approved
          next: notify
    notify:
      type: http
      url: https://hooks.example.com/approved
      headers:
        Authorization: Bearer {{secrets.HOOK_TOKEN}}
      body: '{{inputs.ticket}}'
  output: steps.review.output
  max_steps: 20
"""
GREETING = """\
slug: greeting
name: Greeting
type: chat
messages:
  - role: user
    content: Hello {{name}}
model: gpt-4o-mini
temperature: 1.0
"""


def test_an_agent_file_parses_and_writes_back_byte_for_byte() -> None:
    parsed = parse_prompt_file("prompts/review.yaml", REVIEW)
    assert (parsed.slug, parsed.type) == ("review", "agent")
    assert list(parsed.content["definition"]["steps"]) == ["review", "route", "notify"]
    head = {"slug": "review", "name": "Review", "description": parsed.description}
    assert prompt_file_text({**head, "type": "agent"}, parsed.content) == REVIEW


def test_defaults_written_out_are_the_same_content() -> None:
    explicit = REVIEW.replace("  max_steps: 20\n", "  max_steps: 20\n  timeout_seconds: 3600\n")
    assert parse_prompt_file("a.yaml", explicit).hash == parse_prompt_file("b.yaml", REVIEW).hash
    other = REVIEW.replace("max_steps: 20", "max_steps: 21")
    assert parse_prompt_file("c.yaml", other).hash != parse_prompt_file("b.yaml", REVIEW).hash


@pytest.mark.parametrize(
    ("old", "new", "field", "at"),
    [
        ("next: route", "next: nowhere", "definition.steps.review.next", "next: nowhere"),
        ("type: branch", "type: fork", "definition.steps.route", "type: fork"),
        ("output: steps.review.output", "output: steps.[", "definition.output", "output:"),
        (
            "    - name: ticket\n",
            "    - name: ticket\n      colour: red\n",
            "definition.inputs.0.colour",
            "colour: red",
        ),
        ("type: agent\n", "type: agent\nmessages: []\n", "messages", "messages: []"),
    ],
)
def test_a_bad_agent_file_names_the_file_line_and_field(
    old: str, new: str, field: str, at: str
) -> None:
    text = REVIEW.replace(old, new, 1)
    with pytest.raises(PromptFileError) as caught:
        parse_prompt_file("prompts/review.yaml", text)
    error = caught.value
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if ln.strip().startswith(at))
    assert (error.path, error.field, error.line) == ("prompts/review.yaml", field, line), error
    assert str(error).startswith(f"prompts/review.yaml:{line}: {field}: "), error


# -- against a live server ---------------------------------------------------------------


@pytest.fixture
def served(app: Any, admin_key: str) -> Iterator[tuple[str, Api, Project]]:
    with live_server(app) as srv, httpx.Client(base_url=srv.base_url, timeout=10) as http:
        api = Api(http)
        yield srv.base_url, api, api.new_project(admin_key)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "review.yaml").write_text(REVIEW)
    (folder / "prompts" / "greeting.yaml").write_text(GREETING)
    return folder


def _sync(capsys: pytest.CaptureFixture[str], folder: Path, *argv: str) -> tuple[int, str, str]:
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return run(capsys, "sync", *argv)
    finally:
        os.chdir(cwd)


def test_push_pull_status_round_trip(
    served: tuple[str, Api, Project], repo: Path, tmp_path: Path, capsys: Any
) -> None:
    url, api, project = served
    common = ["--url", url, "--key", project.key]
    code, out, err = _sync(capsys, repo, "push", *common, "-m", "from git")
    assert code == 0, err
    assert "2 version(s) created (2 new prompt(s))" in out, out
    a = api.as_(project.key)
    agent = a.get("/v1/agents/review").json()
    assert (agent["name"], agent["latest_version"], agent["deployments"]["dev"]) == (
        "Review",
        1,
        1,
    )
    version = a.get("/v1/agents/review/versions/1").json()
    assert version["commit_message"] == "from git"
    assert version["definition"]["steps"]["notify"]["method"] == "POST"  # stored whole
    assert version["definition"]["max_steps"] == 20
    assert [p["slug"] for p in a.get("/v1/prompts").json()["data"]] == ["greeting"]

    code, out, _ = _sync(capsys, repo, "status", *common, "--check")
    assert code == 0 and "2 unchanged, 0 changed" in out, out
    code, out, _ = _sync(capsys, repo, "push", *common)
    assert "nothing to push" in out

    other = tmp_path / "other"
    other.mkdir()
    code, out, err = _sync(capsys, other, "pull", *common, "--env", "dev")
    assert code == 0, err
    assert (other / "prompts" / "review.yaml").read_text() == REVIEW  # byte-identical
    assert (other / "prompts" / "greeting.yaml").read_text() == GREETING

    changed = REVIEW.replace("max_steps: 20", "max_steps: 30")
    (repo / "prompts" / "review.yaml").write_text(changed)
    code, out, _ = _sync(capsys, repo, "status", *common, "--check")
    assert code == 1 and "changed           prompts/review.yaml  (definition;" in out, out
    code, out, err = _sync(capsys, repo, "push", *common, "--promote", "dev")
    assert code == 0 and "prompts/review.yaml: v2 created" in out, err
    assert a.get("/v1/agents/review/versions/2").json()["definition"]["max_steps"] == 30
    code, out, _ = _sync(capsys, other, "pull", *common)
    assert (other / "prompts" / "review.yaml").read_text() == changed


def test_a_bad_agent_file_stores_nothing(
    served: tuple[str, Api, Project], repo: Path, capsys: Any
) -> None:
    url, api, project = served
    common = ["--url", url, "--key", project.key]
    (repo / "prompts" / "review.yaml").write_text(REVIEW.replace("next: notify", "next: nope"))
    code, _, err = _sync(capsys, repo, "push", *common)
    assert code == 1, err
    assert "prompts/review.yaml:19: definition.steps.route.cases.0.next: unknown step" in err
    a = api.as_(project.key)
    assert a.get("/v1/agents").json()["data"] == []
    assert a.get("/v1/prompts").json()["data"] == []  # the good file is not pushed either
    # A refusal only the server makes: the slug is a chat prompt there already.
    (repo / "prompts" / "review.yaml").write_text(REVIEW.replace("slug: review", "slug: greeting"))
    (repo / "prompts" / "greeting.yaml").unlink()
    api.new_prompt(project.key, "greeting")
    code, _, err = _sync(capsys, repo, "push", *common)
    assert code == 1 and "prompts/review.yaml" in err and "type" in err, err
    assert a.get("/v1/agents").json()["data"] == []


def test_the_server_names_the_field_of_a_bad_agent_file(served: tuple[str, Api, Project]) -> None:
    _, api, project = served
    body = {
        "files": [
            {"slug": "ok", "name": "Ok", "type": "text", "text": "hi", "model": "m"},
            {
                "slug": "bad",
                "name": "Bad",
                "type": "agent",
                "definition": {"start": "a", "steps": {"a": {"type": "wait", "next": "b"}}},
            },
        ]
    }
    r = api.as_(project.key).post("/v1/sync", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == "files.1.definition.steps.a.next"
    r = api.as_(project.key).post(
        "/v1/sync", json={"files": [{**body["files"][1], "definition": {"start": "a"}}]}
    )
    assert r.status_code == 422 and r.json()["error"]["field"] == "files.0.definition.steps"
    assert api.as_(project.key).get("/v1/sync").json()["prompts"] == []
