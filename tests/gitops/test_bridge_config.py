"""The bridge's configuration (flags, environment, what is refused) and the texts it writes
(git author, commit message and trailer, request title and body), without any server."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest

from promptops.cli.main import build_parser
from promptops.cli.main import main as cli
from promptops.gitops.bridge.config import OPTIONS, config_from
from promptops.gitops.bridge.errors import BridgeConfigError
from promptops.gitops.bridge.repo import Identity, auth_config
from promptops.gitops.bridge.texts import (
    branch_name,
    commit_message,
    file_diff,
    git_author,
    review_body,
    review_title,
)
from promptops.webhooks import generate_secret

SECRET = generate_secret()
ENV = {
    "PROMPTOPS_BRIDGE_REPO": "/srv/prompts.git",
    "PROMPTOPS_BRIDGE_PROVIDER": "github",
    "PROMPTOPS_BRIDGE_FORGE_REPO": "acme/prompts",
    "GITHUB_TOKEN": "ghp_secret_token",
    "PROMPTOPS_BRIDGE_WEBHOOK_SECRET": SECRET,
    "PROMPTOPS_API_KEY": "po_live_key",
}


def configure(*flags: str, **env: str | None) -> Any:
    environ = {k: v for k, v in {**ENV, **env}.items() if v is not None}
    return config_from(build_parser().parse_args(["gitops-bridge", *flags]), environ)


def test_environment_then_flags_then_defaults() -> None:
    c = configure()
    assert (c.repo, c.provider, c.forge_repo, c.token) == (
        "/srv/prompts.git",
        "github",
        "acme/prompts",
        "ghp_secret_token",
    )
    assert (c.base_branch, c.prompts_dir, c.api_url, c.port, c.path) == (
        "main",
        "prompts",
        "https://api.github.com",
        8787,
        "/webhooks/promptops",
    )
    assert c.secrets == (SECRET,) and c.promptops_key == "po_live_key"
    assert c.dashboard_url == c.promptops_url == "http://127.0.0.1:8000"
    assert "ghp_secret_token" not in repr(c) and SECRET not in repr(c)

    other = generate_secret()
    c = configure(
        "--provider", "gitlab", "--forge-repo", "group/sub/prompts", "--base-branch", "trunk",
        "--token-env", "MY_TOKEN", "--url", "http://po:8000/", "--port", "9000",
        MY_TOKEN="glpat-x", PROMPTOPS_BRIDGE_WEBHOOK_SECRET=f"{SECRET} {other}",
        PROMPTOPS_BRIDGE_PROMPTS_DIR="llm/prompts",
    )  # fmt: skip
    assert (c.provider, c.forge_repo, c.base_branch, c.token) == (
        "gitlab",
        "group/sub/prompts",
        "trunk",
        "glpat-x",
    )
    assert (c.api_url, c.promptops_url, c.port) == ("https://gitlab.com", "http://po:8000", 9000)
    assert c.secrets == (SECRET, other)  # rotation: both accepted
    assert c.prompts_dir == "llm/prompts"


@pytest.mark.parametrize(
    ("flags", "env", "option", "said"),
    [
        ((), {"PROMPTOPS_BRIDGE_REPO": None}, "--repo", "required"),
        (("--provider", "bitbucket"), {}, "--provider", "github or gitlab"),
        (("--forge-repo", "prompts"), {}, "--forge-repo", "owner/name"),
        ((), {"GITHUB_TOKEN": None}, "--token-env", "GITHUB_TOKEN is not set"),
        ((), {"PROMPTOPS_BRIDGE_WEBHOOK_SECRET": None}, "--secret-env", "is not set"),
        ((), {"PROMPTOPS_BRIDGE_WEBHOOK_SECRET": "whsec_!!"}, "--secret-env", "base64"),
        ((), {"PROMPTOPS_API_KEY": ""}, "--key-env", "PROMPTOPS_API_KEY is not set"),
        (("--port", "http"), {}, "--port/--timeout", "not a number"),
        (("--port", "70000"), {}, "--port", "out of range"),
        (("--base-branch", "a..b"), {}, "--base-branch", "not a branch"),
        (("--prompts-dir", "../up"), {}, "--prompts-dir", "inside the repository"),
        (("--path", "hook"), {}, "--path", "must start with /"),
        (("--committer-email", "nobody"), {}, "--committer-email", "not an email"),
    ],
)
def test_refused_configuration_names_the_option(
    flags: tuple[str, ...], env: dict[str, str | None], option: str, said: str
) -> None:
    with pytest.raises(BridgeConfigError) as caught:
        configure(*flags, **env)
    assert caught.value.option == option
    assert said in caught.value.message


def test_the_command_refuses_a_missing_setting_with_exit_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    assert cli(["gitops-bridge", "--provider", "github"]) == 2
    assert "error: --repo: required (or set PROMPTOPS_BRIDGE_REPO)" in capsys.readouterr().err


def test_git_author_of_a_version() -> None:
    bot = Identity("PromptOps bridge", "bridge@example.com")
    assert git_author("user:ada@example.com", bot) == Identity("ada", "ada@example.com")
    assert git_author("Ada Lovelace <ada@example.com>", bot) == Identity(
        "Ada Lovelace", "ada@example.com"
    )
    assert git_author("po_live_ab12cd34", bot) == Identity("po_live_ab12cd34", bot.email)
    assert git_author("admin", bot) == Identity("admin", bot.email)
    assert git_author(None, bot) == bot and git_author("  ", bot) == bot
    assert git_author("Eve\n<x>", bot).name == "Evex"  # nothing that breaks a git header


def test_commit_message_title_and_branch() -> None:
    v = {"version": 3, "commit_message": "Shorter\n\nBecause.", "author": "a"}
    assert commit_message("greeting", v) == "Shorter\n\nBecause.\n\nPromptOps-Version: greeting@3\n"
    assert commit_message("greeting", {"version": 1, "commit_message": None}) == (
        "greeting: version 1 from PromptOps\n\nPromptOps-Version: greeting@1\n"
    )
    assert review_title("greeting", v) == "PromptOps: greeting v3: Shorter"
    assert review_title("greeting", {"version": 1}) == "PromptOps: greeting v1"
    assert branch_name("support-reply", 12) == "promptops/support-reply-v12"


def test_review_body_links_the_version_and_shows_the_diff() -> None:
    diff = file_diff("prompts/g.yaml", "slug: g\nmodel: a\n", "slug: g\nmodel: ```b\n")
    assert "--- a/prompts/g.yaml\n+++ b/prompts/g.yaml\n" in diff
    assert "-model: a\n+model: ```b\n" in diff
    body = review_body(
        slug="g",
        version={"version": 2, "author": "ada", "commit_message": "New model"},
        prompt={"deployments": {"dev": 2, "staging": 1, "production": None}},
        project_id="prj 1",
        dashboard_url="https://po.example",
        path="prompts/g.yaml",
        diff=diff,
    )
    assert "[g v2](https://po.example/p/prj%201/prompts/g/versions/2)" in body
    assert "(https://po.example/p/prj%201/prompts/g/diff?a=1&b=2)" in body
    assert "Active in: dev." in body and "> New model" in body
    assert "````diff\n" in body  # a fence longer than any backtick run inside
    assert file_diff("p.yaml", None, "a\n").startswith("--- /dev/null\n+++ b/p.yaml\n")
    assert len(file_diff("p.yaml", None, "x" * 80 + "\n" * 2000)) < 60_000


def test_https_remotes_get_the_token_in_git_config_not_the_command_line() -> None:
    env = auth_config("https://github.com/acme/prompts.git", "x-access-token", "ghp_1")
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    token = base64.b64decode(env["GIT_CONFIG_VALUE_0"].removeprefix("Authorization: Basic "))
    assert token == b"x-access-token:ghp_1"
    assert auth_config("/srv/prompts.git", "oauth2", "t") == {}
    assert auth_config("git@github.com:acme/prompts.git", "oauth2", "t") == {}
    assert auth_config("https://me:pw@gitlab.com/a/b.git", "oauth2", "t") == {}


def test_the_guide_lists_every_flag_and_variable() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "gitops.md").read_text()
    table = guide[guide.index("| flag | environment variable |") :]
    for option in OPTIONS:
        assert f"`{option.flag}`" in table, option.flag
        assert f"`{option.env}`" in table, option.env
        if option.default:
            assert f"`{option.default}`" in table, option.default
