"""What the bridge needs of a forge, whichever it is: find the pull/merge request of a
branch, open one, update one. :mod:`.github` (PyGithub) and :mod:`.gitlab` (python-gitlab)
implement it; :func:`make_forge` picks one from the configuration."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from promptops.gitops.bridge.config import BridgeConfig

__all__ = ["Forge", "Review", "State", "make_forge", "pick"]

State = Literal["open", "closed", "merged"]


@dataclass(frozen=True)
class Review:
    """A pull request (GitHub) or merge request (GitLab): its number (GitLab's ``iid``),
    web page, state, and the title and body (description) it has now."""

    number: int
    url: str
    state: State
    title: str = ""
    body: str = ""


class Forge(Protocol):
    noun: str  # "pull request" or "merge request"

    def find(self, branch: str) -> Review | None:
        """The branch's open request, else its latest closed or merged one, else None."""
        ...

    def open(self, branch: str, base: str, title: str, body: str) -> Review: ...

    def update(self, review: Review, title: str, body: str) -> Review: ...


def pick(found: list[Review]) -> Review | None:
    """An open request first, else the newest (highest number) of the others."""
    open_ = [r for r in found if r.state == "open"]
    if open_:
        return min(open_, key=lambda r: r.number)
    return max(found, key=lambda r: r.number) if found else None


def make_forge(config: BridgeConfig) -> Forge:
    if config.provider == "github":
        from promptops.gitops.bridge.github import GitHubForge

        return GitHubForge(config.api_url, config.forge_repo, config.token, config.timeout)
    from promptops.gitops.bridge.gitlab import GitLabForge

    return GitLabForge(config.api_url, config.forge_repo, config.token, config.timeout)
