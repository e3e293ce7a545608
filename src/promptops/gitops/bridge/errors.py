"""The bridge's errors, each with the HTTP status its webhook request is answered with.

    BridgeError (PromptOpsError)      ``status``: what the webhook request is answered with
    ├── BridgeConfigError             a flag or environment variable is missing or wrong
    ├── UpstreamError                 PromptOps' API did not give the version (502)
    ├── GitError                      a git command failed (clone, fetch, commit, push: 502)
    └── ForgeError                    GitHub or GitLab refused or could not be reached (502)

A 5xx answer makes PromptOps deliver the webhook again later (its retry schedule), which is
what a passing outage needs: nothing was acknowledged, and the work is idempotent.
"""

from __future__ import annotations

from promptops.errors import PromptOpsError

__all__ = ["BridgeConfigError", "BridgeError", "ForgeError", "GitError", "UpstreamError"]


class BridgeError(PromptOpsError):
    status = 500


class BridgeConfigError(BridgeError):
    """The bridge cannot start (or run) as configured; ``option`` names the flag."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__(f"{option}: {problem}")
        self.option = option


class UpstreamError(BridgeError):
    status = 502


class GitError(BridgeError):
    """``command`` is the git subcommand that failed; the message holds git's own words."""

    status = 502

    def __init__(self, command: str, problem: str) -> None:
        super().__init__(f"git {command}: {problem}")
        self.command = command


class ForgeError(BridgeError):
    status = 502
