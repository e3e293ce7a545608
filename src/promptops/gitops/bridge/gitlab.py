"""GitLab merge requests through python-gitlab (REST v4): ``GET /api/v4/projects/{id}/
merge_requests?source_branch=...&state=all``, ``POST .../merge_requests``, ``PUT
.../merge_requests/{iid}``. The project is its numeric id or its path (``group/name``)."""

from __future__ import annotations

from typing import Any

import gitlab
import requests
from gitlab.exceptions import GitlabError

from promptops.gitops.bridge.errors import ForgeError
from promptops.gitops.bridge.forge import Review, State, pick

__all__ = ["GitLabForge"]

_STATES: dict[str, State] = {"opened": "open", "merged": "merged"}  # closed, locked: closed


def _review(mr: Any) -> Review:
    state = _STATES.get(mr.state, "closed")
    return Review(int(mr.iid), mr.web_url, state, mr.title or "", mr.description or "")


def _problem(exc: Exception) -> str:
    if isinstance(exc, GitlabError):
        return f"GitLab answered {exc.response_code}: {exc.error_message}"
    return f"GitLab could not be reached: {exc}"


class GitLabForge:
    noun = "merge request"

    def __init__(self, api_url: str, project: str, token: str, timeout: float) -> None:
        self._gitlab = gitlab.Gitlab(
            api_url, private_token=token, timeout=timeout, retry_transient_errors=False
        )
        ident: int | str = int(project) if project.isdigit() else project
        self._project = self._gitlab.projects.get(ident, lazy=True)

    def find(self, branch: str) -> Review | None:
        try:
            found = self._project.mergerequests.list(
                source_branch=branch, state="all", get_all=True
            )
            return pick([_review(mr) for mr in found])
        except (GitlabError, requests.RequestException) as exc:
            raise ForgeError(_problem(exc)) from None

    def open(self, branch: str, base: str, title: str, body: str) -> Review:
        data = {
            "source_branch": branch,
            "target_branch": base,
            "title": title,
            "description": body,
            "remove_source_branch": True,
        }
        try:
            return _review(self._project.mergerequests.create(data))
        except (GitlabError, requests.RequestException) as exc:
            raise ForgeError(_problem(exc)) from None

    def update(self, review: Review, title: str, body: str) -> Review:
        try:
            done = self._project.mergerequests.update(
                review.number, {"title": title, "description": body}
            )
        except (GitlabError, requests.RequestException) as exc:
            raise ForgeError(_problem(exc)) from None
        url = str(done.get("web_url") or review.url)
        return Review(review.number, url, review.state, title, body)
