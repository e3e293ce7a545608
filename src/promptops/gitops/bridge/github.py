"""GitHub pull requests through PyGithub (REST): ``GET /repos/{owner}/{repo}/pulls?head=
owner:branch&state=all``, ``POST /repos/{owner}/{repo}/pulls``, ``PATCH .../pulls/{n}``.
GitHub Enterprise Server: ``--api-url https://HOST/api/v3``."""

from __future__ import annotations

from typing import Any

import requests
from github import Auth, Github, GithubException

from promptops.gitops.bridge.errors import ForgeError
from promptops.gitops.bridge.forge import Review, State, pick

__all__ = ["GitHubForge"]


def _review(pull: Any) -> Review:
    state: State = "merged" if pull.merged else ("open" if pull.state == "open" else "closed")
    return Review(pull.number, pull.html_url, state, pull.title or "", pull.body or "")


def _problem(exc: Exception) -> str:
    if isinstance(exc, GithubException):
        data = exc.data if isinstance(exc.data, dict) else {}
        details = [e.get("message") for e in data.get("errors") or () if isinstance(e, dict)]
        said = "; ".join(str(d) for d in [data.get("message"), *details] if d)
        return f"GitHub answered {exc.status}: {said or exc}"
    return f"GitHub could not be reached: {exc}"


class GitHubForge:
    noun = "pull request"

    def __init__(self, api_url: str, full_name: str, token: str, timeout: float) -> None:
        # No retries in here: a failure answers the webhook with 502 and PromptOps
        # delivers it again on its own schedule.
        self._github = Github(
            base_url=api_url, auth=Auth.Token(token), timeout=int(timeout), retry=None, lazy=True
        )
        self._repo = self._github.get_repo(full_name)
        self._owner = full_name.split("/", 1)[0]

    def find(self, branch: str) -> Review | None:
        try:
            pulls = self._repo.get_pulls(state="all", head=f"{self._owner}:{branch}")
            return pick([_review(p) for p in pulls])
        except (GithubException, requests.RequestException) as exc:
            raise ForgeError(_problem(exc)) from None

    def open(self, branch: str, base: str, title: str, body: str) -> Review:
        try:
            pull = self._repo.create_pull(base=base, head=branch, title=title, body=body)
        except (GithubException, requests.RequestException) as exc:
            raise ForgeError(_problem(exc)) from None
        return _review(pull)

    def update(self, review: Review, title: str, body: str) -> Review:
        try:
            pull = self._repo.get_pull(review.number)
            pull.edit(title=title, body=body)
        except (GithubException, requests.RequestException) as exc:
            raise ForgeError(_problem(exc)) from None
        return _review(pull)
