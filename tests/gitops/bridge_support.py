"""What the bridge tests share: a bare git repository with a ``main`` branch, git reads of
it, the fake forges by provider, and a running bridge (``promptops gitops-bridge`` as the
CLI configures it, served by uvicorn on 127.0.0.1)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promptops.cli.main import build_parser
from promptops.gitops.bridge.app import asgi_app, build_bridge
from promptops.gitops.bridge.config import config_from
from promptops.gitops.bridge.handler import Bridge
from tests.fakes.forges import FakeGitHub, FakeGitLab
from tests.support import LiveServer, free_port, live_server

GIT_ENV = {
    "GIT_AUTHOR_NAME": "Dev",
    "GIT_AUTHOR_EMAIL": "dev@example.com",
    "GIT_COMMITTER_NAME": "Dev",
    "GIT_COMMITTER_EMAIL": "dev@example.com",
}


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def bare_repo(tmp: Path) -> Path:
    """``origin.git``: a bare repository whose ``main`` has a README and ``prompts/``."""
    bare = tmp / "origin.git"
    git(tmp, "init", "-q", "--bare", "-b", "main", str(bare))
    seed = tmp / "seed"
    git(tmp, "clone", "-q", str(bare), str(seed))
    (seed / "README.md").write_text("# prompts\n")
    (seed / "prompts").mkdir()
    (seed / "prompts" / ".gitkeep").write_text("")
    git(seed, "add", ".")
    git(seed, "commit", "-q", "-m", "Start")
    git(seed, "push", "-q", "origin", "HEAD:main")
    return bare


def branches(bare: Path) -> set[str]:
    out = git(bare, "for-each-ref", "--format=%(refname:short)", "refs/heads")
    return set(out.split())


def commits(bare: Path, branch: str) -> list[dict[str, str]]:
    """The commits ``branch`` has over ``main``, newest first."""
    fmt = "%an%x1f%ae%x1f%aI%x1f%cn%x1f%s%x1f%(trailers:key=PromptOps-Version,valueonly)%x1e"
    out = git(bare, "log", f"--format={fmt}", f"main..{branch}")
    keys = ("author", "email", "date", "committer", "subject", "trailer")
    rows = [r.strip("\n") for r in out.split("\x1e") if r.strip("\n")]
    return [dict(zip(keys, (v.strip() for v in r.split("\x1f")), strict=True)) for r in rows]


def forge_for(provider: str, bare: Path) -> FakeGitHub | FakeGitLab:
    return FakeGitHub(bare) if provider == "github" else FakeGitLab(bare)


@dataclass
class RunningBridge:
    bridge: Bridge
    server: LiveServer
    url: str  # the webhook URL

    @property
    def base_url(self) -> str:
        return self.server.base_url


@contextmanager
def running_bridge(
    *,
    provider: str,
    bare: Path,
    work_dir: Path,
    forge: FakeGitHub | FakeGitLab,
    forge_url: str,
    secret: str,
    promptops_url: str,
    key: str,
    port: int | None = None,
) -> Iterator[RunningBridge]:
    """The bridge as ``promptops gitops-bridge`` would build it from these flags and
    environment variables, serving on 127.0.0.1."""
    port = port or free_port()
    argv = [
        "gitops-bridge",
        "--repo", str(bare),
        "--provider", provider,
        "--forge-repo", forge.repo,
        "--api-url", forge_url,
        "--token-env", "FORGE_TOKEN",
        "--url", promptops_url,
        "--dashboard-url", "https://promptops.example",
        "--port", str(port),
        "--work-dir", str(work_dir),
        "--timeout", "5",
    ]  # fmt: skip
    environ: dict[str, Any] = {
        "FORGE_TOKEN": forge.token,
        "PROMPTOPS_BRIDGE_WEBHOOK_SECRET": secret,
        "PROMPTOPS_API_KEY": key,
        "PROMPTOPS_BRIDGE_BASE_BRANCH": "main",  # from the environment (no flag)
    }
    config = config_from(build_parser().parse_args(argv), environ)
    bridge = build_bridge(config)
    with live_server(asgi_app(bridge), port=port) as server:
        yield RunningBridge(bridge, server, f"{server.base_url}{config.path}")
