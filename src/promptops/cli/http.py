"""The CLI's HTTP calls: one place that turns API errors into a clear message."""

from __future__ import annotations

import os
from typing import Any

import httpx

from promptops.errors import PromptOpsError

__all__ = ["ApiCaller", "CliError"]

DEFAULT_URL = "http://127.0.0.1:8000"


class CliError(PromptOpsError):
    """A failure to report to the user (exit status 1); ``status``: the API's HTTP status
    when the API refused."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class ApiCaller:
    def __init__(self, base_url: str | None, api_key: str | None, timeout: float = 10.0) -> None:
        self.base_url = (base_url or os.environ.get("PROMPTOPS_BASE_URL") or DEFAULT_URL).rstrip(
            "/"
        )
        self.api_key = api_key or os.environ.get("PROMPTOPS_API_KEY")
        self.timeout = timeout
        self.headers: dict[str, str] = {}  # sent with every call (e.g. the project of a token)

    def call(self, method: str, path: str, **kw: Any) -> Any:
        if not self.api_key:
            raise CliError("no API key: pass --key or set PROMPTOPS_API_KEY")
        headers = {**self.headers, "Authorization": f"Bearer {self.api_key}"}
        try:
            response = httpx.request(
                method, self.base_url + path, headers=headers, timeout=self.timeout, **kw
            )
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach {self.base_url}: {exc}") from exc
        if response.status_code >= 400:
            raise CliError(_describe(response), status=response.status_code)
        if not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"{self.base_url} answered {method} {path} with something other than JSON;"
                " is it a PromptOps server?"
            ) from None


def _describe(response: httpx.Response) -> str:
    try:
        detail = response.json()["error"]
        message = detail["message"]
        field = detail.get("field")
    except (ValueError, KeyError, TypeError):
        message, field = response.text[:300] or response.reason_phrase, None
    flag = CLI_NAMES.get((field or "").split(".")[0])
    if field and flag:
        # Speak the CLI's language: the flag to pass, not the API's field name.
        if message.startswith(f"{field}: "):  # a validation error: "name: String should ..."
            message = f"{flag}: {message[len(field) + 2 :]}"
        message = message.replace(f"({field})", f"({flag})").replace(f"'{field}'", flag)
        where = f" (pass {flag})" if flag not in message else ""
    else:
        where = f" (field: {field})" if field and field not in message else ""
    status = f"HTTP {response.status_code}"
    if response.status_code == 404:
        status += " (not found)"
    return f"{status}: {message}{where}"


# API fields the CLI fills from a flag or argument (the rest come from a version file).
CLI_NAMES = {
    "project_id": "--project-id",
    "environment": "--env",
    "role": "--role",
    "name": "--name",
    "description": "--description",
    "slug": "SLUG",
    "prefix": "PREFIX",
    "commit_message": "-m/--message",
    "limit": "--limit",
    "q": "--search",
    "url": "URL",
    "event_types": "--event",
    "environments": "--env",
    "status": "--status",
    "required_evals": "--require-eval",
    "protected": "--protected",
}
