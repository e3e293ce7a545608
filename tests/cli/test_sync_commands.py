"""`promptops sync status|push|pull` against a live server (SQLite and PostgreSQL): pushing
twice creates nothing, pull then push creates nothing, a bad file stores nothing and is
named with its line, git origins are recorded, an unchanged push is one request."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_commands import run
from tests.support import Api, Project

# Canonical files (the layout `sync pull` writes), so a round trip is byte for byte.
GREETING = """\
slug: greeting
name: Greeting
type: chat
messages:
  - role: system
    content: |
      You greet people.
      Be brief.
  - role: user
    content: Hello {{name}}
model: gpt-4o-mini
temperature: 1.0
"""
TONE = """\
slug: tone
name: Tone
type: text
text: Be kind.
model: gpt-4o-mini
temperature: 1.0
"""


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "repo"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "greeting.yaml").write_text(GREETING)
    (folder / "prompts" / "tone.yaml").write_text(TONE)
    return folder


def _sync(capsys: pytest.CaptureFixture[str], folder: Path, *argv: str) -> tuple[int, str, str]:
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        return run(capsys, "sync", *argv)
    finally:
        os.chdir(cwd)


def _versions(api: Api, key: str, slug: str) -> list[dict[str, Any]]:
    return list(api.as_(key).get(f"/v1/prompts/{slug}/versions").json()["data"])


def test_push_twice_status_change_and_check(
    repo: Path, server: str, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--url", server, "--key", project.key]
    code, out, err = _sync(capsys, repo, "status", *common, "--check")
    assert code == 1 and out.count("new") >= 2, (out, err)
    code, out, err = _sync(capsys, repo, "push", *common, "-m", "first")
    assert code == 0, err
    assert "2 version(s) created (2 new prompt(s))" in out
    code, out, _ = _sync(capsys, repo, "push", *common)
    assert (code, out.strip()) == (0, "nothing to push: 2 file(s) unchanged")
    assert [v["commit_message"] for v in _versions(api, project.key, "greeting")] == ["first"]
    code, out, _ = _sync(capsys, repo, "status", *common, "--check")
    assert code == 0 and "2 unchanged" in out

    (repo / "prompts" / "tone.yaml").write_text(TONE.replace("Be kind.", "Be very kind."))
    code, out, _ = _sync(capsys, repo, "status", *common, "--check", "--json")
    assert code == 1
    rows = {f["slug"]: f for f in json.loads(out)["files"]}
    assert rows["tone"]["status"] == "changed" and rows["tone"]["diff"]["fields"] == ["text"]
    assert rows["greeting"]["status"] == "unchanged"
    code, out, _ = _sync(capsys, repo, "push", *common, "--json")
    pushed = json.loads(out)
    assert pushed["created_versions"] == 1 and pushed["unchanged"] == 1
    assert len(_versions(api, project.key, "tone")) == 2


def test_pull_then_push_creates_nothing_and_unchanged_files_are_not_touched(
    repo: Path,
    tmp_path: Path,
    server: str,
    api: Api,
    project: Project,
    capsys: pytest.CaptureFixture[str],
) -> None:
    common = ["--url", server, "--key", project.key]
    assert _sync(capsys, repo, "push", *common)[0] == 0
    other = tmp_path / "other"
    other.mkdir()
    code, out, err = _sync(capsys, other, "pull", *common, "--env", "dev")
    assert code == 0, err
    assert (other / "prompts" / "greeting.yaml").read_text() == GREETING  # byte-identical
    assert (other / "prompts" / "tone.yaml").read_text() == TONE
    stamp = (other / "prompts" / "greeting.yaml").stat().st_mtime_ns
    code, out, _ = _sync(capsys, other, "pull", *common)
    assert "0 written, 2 unchanged" in out
    assert (other / "prompts" / "greeting.yaml").stat().st_mtime_ns == stamp
    code, out, _ = _sync(capsys, other, "push", *common)
    assert "nothing to push" in out
    assert len(_versions(api, project.key, "greeting")) == 1


def test_a_bad_file_is_named_with_its_line_and_nothing_is_stored(
    repo: Path, server: str, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    common = ["--url", server, "--key", project.key]
    (repo / "prompts" / "broken.yaml").write_text(
        "slug: broken\nname: Broken\ntype: chat\nmessages:\n  - role: user\n    content: hi\n"
        "model: gpt-4o-mini\ntemperature: hot\n"
    )
    code, _, err = _sync(capsys, repo, "push", *common)
    assert code == 1 and "prompts/broken.yaml:8: temperature:" in err, err
    assert api.as_(project.key).get("/v1/prompts").json()["data"] == []
    # A refusal only the server can make (a snippet that does not exist): still nothing.
    (repo / "prompts" / "broken.yaml").write_text(
        GREETING.replace("greeting", "broken").replace("Hello {{name}}", "{{> nowhere}}")
    )
    code, _, err = _sync(capsys, repo, "push", *common)
    assert code == 1 and "prompts/broken.yaml" in err, err
    assert api.as_(project.key).get("/v1/prompts").json()["data"] == []


def _git(folder: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "Ada",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
        },
    )
    return done.stdout.strip()


def test_inside_a_git_work_tree_each_version_records_its_origin(
    repo: Path, server: str, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    _git(repo, "init", "-q", "-b", "main")
    _git(
        repo, "remote", "add", "origin", "https://ci:s3cret-token@git.example.com/acme/prompts.git"
    )
    _git(repo, "add", ".")
    _git(repo, "commit", "-q", "-m", "Prompts for the greeter")
    commit = _git(repo, "rev-parse", "HEAD")
    code, _, err = _sync(capsys, repo, "push", "--url", server, "--key", project.key)
    assert code == 0, err
    [version] = _versions(api, project.key, "greeting")
    assert version["metadata"]["git"] == {
        "commit": commit,
        "path": "prompts/greeting.yaml",
        "remote": "https://git.example.com/acme/prompts.git",  # no credentials stored
    }
    assert version["commit_message"] == "Prompts for the greeter"


def test_an_unchanged_push_is_one_request(
    repo: Path,
    server: str,
    project: Project,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for i in range(40):
        (repo / "prompts" / f"p{i}.yaml").write_text(TONE.replace("tone", f"p{i}"))
    common = ["--url", server, "--key", project.key]
    assert _sync(capsys, repo, "push", *common)[0] == 0
    calls: list[str] = []
    real = httpx.request

    def counted(method: str, url: str, **kw: Any) -> httpx.Response:
        calls.append(f"{method} {url}")
        return real(method, url, **kw)

    monkeypatch.setattr(httpx, "request", counted)
    code, out, _ = _sync(capsys, repo, "push", *common)
    assert code == 0 and "42 file(s) unchanged" in out
    assert len(calls) == 1, calls
    calls.clear()
    assert _sync(capsys, repo, "status", *common)[0] == 0
    assert len(calls) == 1, calls


def test_promote_needs_the_environments_key(
    repo: Path, server: str, api: Api, project: Project, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = _sync(
        capsys, repo, "push", "--url", server, "--key", project.key, "--promote", "staging"
    )
    assert code == 1 and "staging" in err
    assert api.as_(project.key).get("/v1/prompts").json()["data"] == []
