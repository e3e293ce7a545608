"""Where a pushed file comes from: the git work tree around it (commit, path, remote),
read with the git command line. Outside a work tree, or without git, there is none."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = ["WorkTree", "public_remote", "work_tree"]


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def public_remote(url: str | None) -> str | None:
    """A remote URL without credentials (``https://user:token@host/...`` → ``https://host/...``):
    it is stored on every version and shown to anyone who can read the project."""
    if not url:
        return None
    if "://" not in url:
        return url  # scp-like (git@host:org/repo.git): a user name, no secret
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class WorkTree:
    root: Path
    commit: str
    remote: str | None
    subject: str | None  # the commit's first line

    def origin(self, path: Path) -> dict[str, Any]:
        """``metadata.git`` of a file in this work tree."""
        try:
            where = path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            where = path.as_posix()
        return {"commit": self.commit, "path": where, "remote": self.remote}


def work_tree(folder: Path) -> WorkTree | None:
    """The git work tree holding ``folder`` at its current commit, or None."""
    start = folder if folder.is_dir() else folder.parent
    if not start.is_dir():
        return None
    root = _git(start, "rev-parse", "--show-toplevel")
    commit = _git(start, "rev-parse", "--verify", "-q", "HEAD")
    if not root or not commit:
        return None  # not a work tree, or one without a commit yet
    remotes = (_git(start, "remote") or "").split()
    name = "origin" if "origin" in remotes else (remotes[0] if remotes else None)
    remote = _git(start, "remote", "get-url", name) if name else None
    subject = _git(start, "log", "-1", "--format=%s")
    return WorkTree(Path(root).resolve(), commit, public_remote(remote), subject or None)
