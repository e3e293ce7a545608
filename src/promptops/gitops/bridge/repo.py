"""The bridge's clone of the repository, driven with the git command line: fetch, put a
branch at the remote's (or the base branch's) tip, commit one file, push.

The work tree belongs to the bridge: every change starts with a forced checkout and a clean,
so whatever a failed attempt left behind is gone. One change at a time (the caller holds a
lock): git's index is not shared safely.
"""

from __future__ import annotations

import base64
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from promptops.gitops.bridge.errors import GitError
from promptops.gitops.sync import write_if_changed

__all__ = ["GitRepo", "Identity", "auth_config"]

_TIMEOUT = 300.0  # a first clone of a large repository


@dataclass(frozen=True)
class Identity:
    name: str
    email: str


def auth_config(repo: str, user: str, token: str) -> dict[str, str]:
    """Git configuration (as ``GIT_CONFIG_*`` variables, so the token is on no command line)
    sending ``token`` as HTTP basic credentials to the host of an ``https://`` ``repo``
    without credentials of its own: ``x-access-token`` on GitHub, ``oauth2`` on GitLab.
    Nothing for a path, an SSH URL, or a URL that carries its own user."""
    parts = urlsplit(repo)
    if parts.scheme not in ("https", "http") or parts.username or not token:
        return {}
    basic = base64.b64encode(f"{user}:{token}".encode()).decode()
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{parts.scheme}://{parts.netloc}/.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


class GitRepo:
    """A clone of ``source`` in ``work_dir`` whose remote ``origin`` is ``source``."""

    def __init__(
        self,
        source: str,
        work_dir: Path,
        *,
        committer: Identity,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.source = source
        self.root = work_dir
        self.committer = committer
        self._env = {
            **os.environ,
            "GIT_TERMINAL_PROMPT": "0",  # a missing credential fails instead of waiting
            "LC_ALL": "C",
            **(extra_env or {}),
        }

    def git(
        self,
        *args: str,
        cwd: Path | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        try:
            done = subprocess.run(
                ["git", *args],
                cwd=cwd or self.root,
                input=input,
                capture_output=True,
                text=True,
                timeout=_TIMEOUT,
                env={**self._env, **(env or {})},
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise GitError(args[0], str(exc)) from None
        if check and done.returncode != 0:
            problem = (done.stderr or done.stdout).strip().splitlines()
            raise GitError(args[0], " / ".join(problem[-3:]) or f"exit status {done.returncode}")
        return done

    # ---- the clone ---------------------------------------------------------------------

    def fetch(self) -> None:
        """Clone on first use, else fetch every branch of ``origin`` (pruning gone ones)."""
        if not (self.root / ".git").is_dir():
            self.root.mkdir(parents=True, exist_ok=True)
            if any(self.root.iterdir()):
                raise GitError("clone", f"{self.root} is not empty and not a git clone")
            self.git("clone", "--quiet", "--no-checkout", self.source, ".")
            return
        self.git("remote", "set-url", "origin", self.source)
        self.git("fetch", "--quiet", "--prune", "origin")

    def has_remote_branch(self, branch: str) -> bool:
        ref = f"refs/remotes/origin/{branch}"
        return self.git("rev-parse", "--verify", "-q", ref, check=False).returncode == 0

    def checkout(self, branch: str, base: str) -> bool:
        """Make ``branch`` the work tree at ``origin/<branch>`` when the remote has it (True),
        else at ``origin/<base>`` (False); a clean tree either way."""
        existed = self.has_remote_branch(branch)
        if not existed and not self.has_remote_branch(base):
            raise GitError("checkout", f"the remote has no branch {base!r} (--base-branch)")
        start = f"origin/{branch}" if existed else f"origin/{base}"
        self.git("checkout", "--quiet", "--force", "--no-track", "-B", branch, start)
        self.git("clean", "--quiet", "-fdx")
        return existed

    def read(self, ref: str, path: str) -> str | None:
        """The file ``path`` at ``ref`` (``origin/main``), or None when it has none."""
        done = self.git("show", f"{ref}:{path}", check=False)
        return done.stdout if done.returncode == 0 else None

    # ---- a change ----------------------------------------------------------------------

    def commit_file(
        self, path: str, text: str, *, author: Identity, message: str, date: str | None
    ) -> bool:
        """Write ``text`` to ``path`` and commit it on the checked-out branch; False (no
        commit) when the branch holds exactly that already."""
        write_if_changed(self.root / path, text)
        self.git("add", "--", path)
        if self.git("diff", "--cached", "--quiet", check=False).returncode == 0:
            return False
        env = {
            "GIT_AUTHOR_NAME": author.name,
            "GIT_AUTHOR_EMAIL": author.email,
            "GIT_COMMITTER_NAME": self.committer.name,
            "GIT_COMMITTER_EMAIL": self.committer.email,
        }
        if date:
            env["GIT_AUTHOR_DATE"] = date
        self.git("commit", "--quiet", "--no-verify", "--cleanup=verbatim", "-F", "-",
                 input=message, env=env)  # fmt: skip
        return True

    def push(self, branch: str) -> None:
        """Push ``branch`` (a fast-forward: a branch someone else moved meanwhile is refused,
        and the next delivery starts from the moved tip)."""
        self.git("push", "--quiet", "origin", f"refs/heads/{branch}:refs/heads/{branch}")
