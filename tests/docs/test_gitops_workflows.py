"""The GitOps guide's CI workflows (docs/examples/gitops/) run: both files parse, and their
``promptops`` steps run in order, as CI would, in a temporary git repository against a live
server (SQLite and PostgreSQL): a first release creates and promotes, the status check
passes, a second run changes nothing."""

from __future__ import annotations

import os
import shlex
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from promptops.cli.main import main
from tests.support import Api, Project, live_server

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "gitops"
PROMPT = """\
slug: support-reply
name: Support reply
type: chat
messages:
  - role: system
    content: |
      You answer customers of {{product}}.
      Be brief.
  - role: user
    content: '{{question}}'
model: gpt-4o-mini
temperature: 0.2
"""


def _commands(script: str) -> list[str]:
    return [line.strip() for line in script.splitlines() if line.strip().startswith("promptops ")]


def github_steps() -> list[tuple[str, str]]:
    """(job, command) of every promptops command, in job order then step order."""
    flow = yaml.safe_load((EXAMPLES / "github-workflow.yml").read_text())
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert set(triggers) == {"pull_request", "push"}
    out = []
    for job, spec in flow["jobs"].items():
        for step in spec["steps"]:
            for command in _commands(step.get("run", "")):
                assert "PROMPTOPS_API_KEY" in step.get("env", {}), (job, command)
                out.append((job, command))
    return out


def gitlab_steps() -> list[tuple[str, str]]:
    flow = yaml.safe_load((EXAMPLES / "gitlab-ci.yml").read_text())
    out = []
    for job, spec in flow.items():
        if not isinstance(spec, dict) or "script" not in spec:
            continue
        assert spec["variables"]["PROMPTOPS_API_KEY"] == "$PROMPTOPS_STAGING_KEY"
        for line in spec["script"]:
            out += [(job, c) for c in _commands(line)]
    return out


CI_VARIABLES = {
    "GITHUB_SERVER_URL": "https://github.com",
    "GITHUB_REPOSITORY": "acme/prompts",
    "GITHUB_RUN_ID": "42",
    "CI_PIPELINE_URL": "https://gitlab.com/acme/prompts/-/pipelines/42",
}
RUN_URLS = {
    "github": "https://github.com/acme/prompts/actions/runs/42",
    "gitlab": CI_VARIABLES["CI_PIPELINE_URL"],
}


@pytest.fixture
def server(app: Any) -> Iterator[str]:
    with live_server(app) as srv:
        yield srv.base_url


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Path]:
    folder = tmp_path / "repo"
    (folder / "prompts").mkdir(parents=True)
    (folder / "prompts" / "support-reply.yaml").write_text(PROMPT)
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "CI",
        "GIT_AUTHOR_EMAIL": "ci@example.com",
        "GIT_COMMITTER_NAME": "CI",
        "GIT_COMMITTER_EMAIL": "ci@example.com",
    }
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-q", "-m", "Prompts"]):
        subprocess.run(["git", *args], cwd=folder, env=env, check=True)
    cwd = Path.cwd()
    os.chdir(folder)
    try:
        yield folder
    finally:
        os.chdir(cwd)


def _run_all(
    steps: list[tuple[str, str]], server: str, key: str, monkeypatch: pytest.MonkeyPatch
) -> list[tuple[str, int]]:
    monkeypatch.setenv("PROMPTOPS_BASE_URL", server)
    monkeypatch.setenv("PROMPTOPS_API_KEY", key)
    for name, value in CI_VARIABLES.items():  # what the CI services set for --url
        monkeypatch.setenv(name, value)
    ran = []
    for job, command in steps:
        argv = shlex.split(command)[1:]
        if argv[0] == "evals":
            (Path.cwd() / "evals.xml").write_text(
                '<testsuite name="support-reply" tests="2" failures="0" errors="0">'
                '<testcase name="a"/><testcase name="b"/></testsuite>'
            )
            argv = [os.path.expandvars(a) for a in argv]
        ran.append((f"{job}: {command}", main(argv)))
    return ran


@pytest.mark.parametrize(
    ("provider", "steps"),
    [("github", github_steps), ("gitlab", gitlab_steps)],
    ids=["github", "gitlab"],
)
def test_the_workflows_promptops_steps_run(
    provider: str,
    steps: Any,
    repo: Path,
    server: str,
    api: Api,
    admin_key: str,
    project: Project,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    found = steps()
    assert [c.split()[:3] for _, c in found if "sync" in c] == [
        ["promptops", "sync", "status"],
        ["promptops", "sync", "push"],
        ["promptops", "sync", "status"],
    ]
    ran = _run_all(found, server, staging, monkeypatch)
    assert all(code == 0 for _, code in ran), (ran, capsys.readouterr())
    active = api.as_(staging).get("/v1/prompts/support-reply/deployments").json()
    assert active["environments"]["staging"]["version"] == 1
    [version] = api.as_(staging).get("/v1/prompts/support-reply/versions").json()["data"]
    assert version["metadata"]["git"]["path"] == "prompts/support-reply.yaml"
    assert version["commit_message"] == "Prompts"
    # The evals step recorded the report's suite on the version staging serves.
    [result] = api.as_(staging).get("/v1/prompts/support-reply/versions/1/evals").json()["data"]
    assert (result["name"], result["score"], result["passed"]) == ("support-reply", 1.0, True)
    assert result["url"] == RUN_URLS[provider]
    # The next merge with no prompt change: the same steps change nothing.
    again = _run_all(found, server, staging, monkeypatch)
    assert all(code == 0 for _, code in again), again
    versions = api.as_(staging).get("/v1/prompts/support-reply/versions").json()["data"]
    assert len(versions) == 1
    # Each run records its results (a new run is new evidence); the latest counts.
    results = api.as_(staging).get("/v1/prompts/support-reply/versions/1/evals").json()["data"]
    assert len(results) == 2
