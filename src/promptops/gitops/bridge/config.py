"""The bridge's configuration: flags of ``promptops gitops-bridge``, each with an environment
variable it falls back to (a flag wins), and the secrets read from environment variables only
(their names are configurable, their values never appear on a command line).

:data:`OPTIONS` is the one list of them: the parser, the environment fallbacks and the
docs' table (docs/gitops.md) all follow it.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from promptops.gitops.bridge.errors import BridgeConfigError
from promptops.webhooks import InvalidSecretError, sign

__all__ = [
    "DEFAULT_API_URLS",
    "OPTIONS",
    "BridgeConfig",
    "Option",
    "add_bridge_arguments",
    "config_from",
]

Provider = Literal["github", "gitlab"]
DEFAULT_API_URLS: dict[str, str] = {
    "github": "https://api.github.com",
    "gitlab": "https://gitlab.com",
}
DEFAULT_TOKEN_ENVS: dict[str, str] = {"github": "GITHUB_TOKEN", "gitlab": "GITLAB_TOKEN"}


@dataclass(frozen=True)
class Option:
    flag: str
    env: str
    help: str
    default: str | None = None

    @property
    def dest(self) -> str:
        return self.flag.removeprefix("--").replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option("--repo", "PROMPTOPS_BRIDGE_REPO", "the git repository: a path or a URL to clone"),
    Option("--base-branch", "PROMPTOPS_BRIDGE_BASE_BRANCH", "branch the changes target", "main"),
    Option("--prompts-dir", "PROMPTOPS_BRIDGE_PROMPTS_DIR", "prompt files' folder", "prompts"),
    Option(
        "--work-dir",
        "PROMPTOPS_BRIDGE_WORK_DIR",
        "where the clone lives; default a new temporary folder",
    ),
    Option("--provider", "PROMPTOPS_BRIDGE_PROVIDER", "github or gitlab"),
    Option(
        "--forge-repo",
        "PROMPTOPS_BRIDGE_FORGE_REPO",
        "owner/name on GitHub, the project's path (group/name) or id on GitLab",
    ),
    Option(
        "--api-url",
        "PROMPTOPS_BRIDGE_API_URL",
        "the forge's API; default https://api.github.com or https://gitlab.com",
    ),
    Option(
        "--token-env",
        "PROMPTOPS_BRIDGE_TOKEN_ENV",
        "variable holding the forge token; default GITHUB_TOKEN or GITLAB_TOKEN",
    ),
    Option(
        "--secret-env",
        "PROMPTOPS_BRIDGE_SECRET_ENV",
        "variable holding the webhook secret(s), whsec_..., space-separated while rotating",
        "PROMPTOPS_BRIDGE_WEBHOOK_SECRET",
    ),
    Option("--url", "PROMPTOPS_BASE_URL", "PromptOps' URL", "http://127.0.0.1:8000"),
    Option(
        "--key-env",
        "PROMPTOPS_BRIDGE_KEY_ENV",
        "variable holding a PromptOps read key",
        "PROMPTOPS_API_KEY",
    ),
    Option(
        "--dashboard-url",
        "PROMPTOPS_BRIDGE_DASHBOARD_URL",
        "PromptOps' URL as people open it, for links; default --url",
    ),
    Option("--host", "PROMPTOPS_BRIDGE_HOST", "address to listen on", "127.0.0.1"),
    Option("--port", "PROMPTOPS_BRIDGE_PORT", "port to listen on", "8787"),
    Option("--path", "PROMPTOPS_BRIDGE_PATH", "the webhook's path", "/webhooks/promptops"),
    Option(
        "--committer-name", "PROMPTOPS_BRIDGE_COMMITTER_NAME", "git committer", "PromptOps bridge"
    ),
    Option(
        "--committer-email",
        "PROMPTOPS_BRIDGE_COMMITTER_EMAIL",
        "git committer's email (also the author's when a version's author has none)",
        "promptops-bridge@localhost",
    ),
    Option("--timeout", "PROMPTOPS_BRIDGE_TIMEOUT", "seconds per forge or API request", "20"),
)


@dataclass(frozen=True)
class BridgeConfig:
    repo: str
    base_branch: str
    prompts_dir: str
    work_dir: Path | None
    provider: Provider
    forge_repo: str
    api_url: str
    token: str = ""
    secrets: tuple[str, ...] = ()
    promptops_url: str = "http://127.0.0.1:8000"
    promptops_key: str = ""
    dashboard_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8787
    path: str = "/webhooks/promptops"
    committer_name: str = "PromptOps bridge"
    committer_email: str = "promptops-bridge@localhost"
    timeout: float = 20.0

    def __repr__(self) -> str:  # never print the token, key or secrets
        return f"BridgeConfig(provider={self.provider!r}, repo={self.repo!r}, port={self.port})"


def add_bridge_arguments(parser: argparse.ArgumentParser) -> None:
    for o in OPTIONS:
        fallback = f"env {o.env}" + (f", default {o.default}" if o.default else "")
        parser.add_argument(o.flag, dest=o.dest, help=f"{o.help} ({fallback})")


_BRANCH = re.compile(r"^(?!/|.*(?:\.\.|//|@\{|\.lock$|/$|\.$))[A-Za-z0-9._/-]{1,200}$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")


def _secret(environ: Mapping[str, str], name: str, option: str) -> str:
    value = environ.get(name, "").strip()
    if not value:
        raise BridgeConfigError(option, f"the environment variable {name} is not set")
    return value


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> BridgeConfig:
    """The configuration from parsed flags, then ``environ``, then the defaults; raises
    :class:`BridgeConfigError` naming the option."""
    raw: dict[str, str | None] = {}
    for o in OPTIONS:
        value = getattr(args, o.dest, None)
        raw[o.dest] = value if value not in (None, "") else (environ.get(o.env) or o.default)

    def need(dest: str) -> str:
        value = raw[dest]
        if not value:
            o = next(o for o in OPTIONS if o.dest == dest)
            raise BridgeConfigError(o.flag, f"required (or set {o.env})")
        return value.strip()

    repo = need("repo")
    provider = need("provider")
    if provider not in ("github", "gitlab"):
        raise BridgeConfigError("--provider", f"expected github or gitlab, got {provider!r}")
    forge_repo = need("forge_repo").strip("/")
    if provider == "github" and not re.fullmatch(r"[\w.-]+/[\w.-]+", forge_repo):
        raise BridgeConfigError("--forge-repo", f"expected owner/name, got {forge_repo!r}")
    base = need("base_branch")
    if not _BRANCH.match(base):
        raise BridgeConfigError("--base-branch", f"not a branch name: {base!r}")
    prompts_dir = need("prompts_dir").strip("/")
    if not prompts_dir or ".." in Path(prompts_dir).parts or Path(prompts_dir).is_absolute():
        raise BridgeConfigError("--prompts-dir", "a folder inside the repository, e.g. prompts")
    try:
        port = int(need("port"))
        timeout = float(need("timeout"))
    except ValueError as exc:
        raise BridgeConfigError("--port/--timeout", f"not a number: {exc}") from None
    if not 0 < port < 65536:
        raise BridgeConfigError("--port", f"out of range: {port}")
    path = need("path")
    if not path.startswith("/"):
        raise BridgeConfigError("--path", "must start with /")
    email = need("committer_email")
    if not _EMAIL.match(email):
        raise BridgeConfigError("--committer-email", f"not an email address: {email!r}")
    token_env = raw["token_env"] or DEFAULT_TOKEN_ENVS[provider]
    secrets = tuple(_secret(environ, need("secret_env"), "--secret-env").replace(",", " ").split())
    for secret in secrets:
        try:
            sign(secret, "check", 0, b"")
        except InvalidSecretError as exc:
            raise BridgeConfigError("--secret-env", exc.message) from None
    url = need("url").rstrip("/")
    work_dir = raw["work_dir"]
    return BridgeConfig(
        repo=repo,
        base_branch=base,
        prompts_dir=prompts_dir,
        work_dir=Path(work_dir).expanduser() if work_dir else None,
        provider=provider,  # type: ignore[arg-type]
        forge_repo=forge_repo,
        api_url=(raw["api_url"] or DEFAULT_API_URLS[provider]).rstrip("/"),
        token=_secret(environ, token_env, "--token-env"),
        secrets=secrets,
        promptops_url=url,
        promptops_key=_secret(environ, need("key_env"), "--key-env"),
        dashboard_url=(raw["dashboard_url"] or url).rstrip("/"),
        host=need("host"),
        port=port,
        path=path,
        committer_name=need("committer_name"),
        committer_email=email,
        timeout=timeout,
    )
