"""Errors raised by the SDK. All derive from :class:`promptops.errors.PromptOpsError`.

    PromptOpsError                        (promptops.errors)
    ├── TemplateError                     bad template / render() arguments
    │   ├── MissingVariablesError         ``.names``: the variables render() was not given
    │   └── UnknownVariablesError         ``.names``: variables the prompt does not use
    └── SDKError                          anything the SDK raises on purpose
        ├── ConfigurationError            no API key, bad base URL, bad argument (also ValueError)
        │   └── UnsupportedFieldError     run(): the provider cannot express a field of the
        │                                 prompt (``.provider``, ``.field``); before any call
        ├── InvalidOutputError            run(): the model's output is not what the prompt asked
        │                                 (JSON / schema / tool arguments): ``.field``, ``.raw``
        ├── PromptUnavailableError        server unreachable / timed out / 5xx, nothing cached,
        │                                 no fallback: ``.slug``, ``.version``, ``.cause``
        ├── InvalidResponseError          the server answered 2xx with a body that is not a prompt
        │                                 (or not an agent run)
        ├── AgentUnavailableError         client.agents: server unreachable / timed out / 5xx
        │                                 (``.cause``); waiting retries these until its timeout
        ├── AgentRunError                 ``AgentRun.raise_for_status()``: the run ended failed,
        │                                 cancelled or timed_out (``.run``, ``.status``, ``.error``)
        ├── AgentRunTimeoutError          client.agents.run(wait=True) / wait(): the run did not
        │                                 finish in ``timeout`` seconds (also TimeoutError);
        │                                 ``.run`` (last seen, or None), ``.run_id``, ``.timeout``
        └── APIError                      the server refused: ``.status_code``, ``.code``,
            │                             ``.message``, ``.field``, ``.slug``
            ├── AuthenticationError       401: unknown or revoked API key
            ├── PermissionDeniedError     403: the key may not read this (or, for agents: may
            │                             not start, cancel or answer a run: a read key)
            ├── PromptNotFoundError       404: no such prompt / version, or nothing active
            ├── AgentNotFoundError        404: no such agent / run, or nothing active to run
            ├── ConflictError             409: e.g. cancelling a finished run, input for a run
            │                             that is not waiting
            └── ServerError               5xx (seen as a ``PromptUnavailableError.cause`` or an
                                          ``AgentUnavailableError.cause``)

Which errors reach the caller of ``get_prompt``: ``PromptNotFoundError``,
``AuthenticationError``, ``PermissionDeniedError`` and other ``APIError`` s are definitive
answers and are always raised (the cached value for that prompt is dropped).
Unavailability (network errors, timeouts, 5xx, 408, 429, undecodable bodies) is never raised
while a last good value, a snapshot entry or a ``fallback`` exists; otherwise it is raised as
``PromptUnavailableError`` whose ``cause`` (also ``__cause__``) is the underlying exception.
"""

from __future__ import annotations

from typing import Any

from promptops.errors import (
    InputTypeError,
    MissingVariablesError,
    PlaceholderValueError,
    PromptOpsError,
    PromptShapeError,
    TemplateError,
    UnknownVariablesError,
    UnresolvedPartialError,
)

__all__ = [
    "APIError",
    "AgentNotFoundError",
    "AgentRunError",
    "AgentRunTimeoutError",
    "AgentUnavailableError",
    "AuthenticationError",
    "ConfigurationError",
    "ConflictError",
    "InputTypeError",
    "InvalidOutputError",
    "InvalidResponseError",
    "MissingVariablesError",
    "PermissionDeniedError",
    "PlaceholderValueError",
    "PromptNotFoundError",
    "PromptShapeError",
    "PromptUnavailableError",
    "SDKError",
    "ServerError",
    "TemplateError",
    "UnknownVariablesError",
    "UnresolvedPartialError",
    "UnsupportedFieldError",
]


def _describe(slug: str, version: int | None) -> str:
    return repr(slug) if version is None else f"{slug!r} version {version}"


class SDKError(PromptOpsError):
    """Base class of the errors the SDK raises."""


class ConfigurationError(SDKError, ValueError):
    """The client was configured or called wrongly (missing API key, bad argument)."""


class UnsupportedFieldError(ConfigurationError):
    """``run()``: the provider's API cannot express a field of the prompt (or of the call),
    e.g. ``params.seed`` on Anthropic. Raised before any network call; ``provider`` is
    "openai" / "anthropic" / "gemini", ``field`` the prompt field (``"params.seed"``,
    ``"response_format"``, ``"messages[3]"``)."""

    def __init__(self, provider: str, field: str, reason: str) -> None:
        super().__init__(f"{provider} cannot express {field}: {reason}")
        self.provider = provider
        self.field = field
        self.reason = reason


class InvalidOutputError(SDKError, ValueError):
    """``run()``: the model's output is not what the prompt asked for: ``RunResult.parsed``
    when the text is not JSON or does not match the ``json_schema`` (``field`` "parsed"),
    ``RunResult.tool_calls`` when a call's arguments are not a JSON object (``field``
    "tool_calls[0].arguments"). ``raw`` is the text received, ``reason`` what is wrong."""

    def __init__(self, field: str, reason: str, raw: str | None) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.raw = raw


class InvalidResponseError(SDKError):
    """The server answered 2xx with a body that is not a prompt (a proxy, a wrong URL)."""

    def __init__(self, message: str, *, status_code: int) -> None:
        super().__init__(message)
        self.status_code = status_code


class APIError(SDKError):
    """The server answered with an error status and its JSON error body."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str = "error",
        field: str | None = None,
        slug: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.field = field
        self.slug = slug

    def __str__(self) -> str:
        return f"{self.message} (HTTP {self.status_code}, {self.code})"


class AuthenticationError(APIError):
    """401: the API key is unknown or was revoked."""


class PermissionDeniedError(APIError):
    """403: the API key may not read this prompt (another environment or project)."""


class PromptNotFoundError(APIError, LookupError):
    """404: the prompt or version does not exist, or nothing is active in the key's
    environment."""


class ServerError(APIError):
    """5xx from the server. Treated as unavailability: stale values are served."""


class PromptUnavailableError(SDKError):
    """The prompt could not be fetched and there was nothing to serve instead.

    Raised only when nothing is cached for the prompt, it is not in the snapshot file and
    the caller gave no ``fallback``. ``cause`` is what went wrong (an ``httpx`` transport
    error, a :class:`ServerError`, ...).
    """

    def __init__(self, slug: str, version: int | None, cause: BaseException) -> None:
        reason = str(cause) or type(cause).__name__
        super().__init__(
            f"prompt {_describe(slug, version)} is unavailable and nothing is cached:"
            f" {type(cause).__name__}: {reason}"
        )
        self.slug = slug
        self.version = version
        self.cause = cause


class AgentNotFoundError(APIError, LookupError):
    """404 from ``client.agents``: no such agent or run in the key's project, or no version
    of the agent active in the key's environment."""


class ConflictError(APIError):
    """409: the request does not fit the current state (cancelling a finished run, sending
    input to a run that is not waiting)."""


class AgentUnavailableError(SDKError):
    """A ``client.agents`` call got no answer: network error, timeout or 5xx. ``cause`` is the
    underlying exception (an ``httpx`` transport error or a :class:`ServerError`)."""

    def __init__(self, what: str, cause: BaseException) -> None:
        reason = str(cause) or type(cause).__name__
        super().__init__(f"{what}: the server is unavailable: {type(cause).__name__}: {reason}")
        self.cause = cause


class AgentRunError(SDKError):
    """Raised by ``AgentRun.raise_for_status()`` for a run that ended ``failed``,
    ``cancelled`` or ``timed_out``: ``run`` is the run, ``status`` and ``error`` its own."""

    def __init__(self, run: Any) -> None:
        detail = f": {run.error}" if run.error else ""
        super().__init__(f"agent run {run.id} of {run.agent!r} ended {run.status}{detail}")
        self.run = run
        self.status: str = run.status
        self.error: str | None = run.error


class AgentRunTimeoutError(SDKError, TimeoutError):
    """Waiting for a run (``run(wait=True)``, ``wait()``) took longer than ``timeout`` seconds.
    The run goes on on the server: ``run`` is how it was last seen (None if it could not be
    read), ``run_id`` its id; wait again, or cancel it."""

    def __init__(self, run_id: str, timeout: float, run: Any, cause: BaseException | None) -> None:
        seen = f" (last seen {run.status})" if run is not None else ""
        super().__init__(f"agent run {run_id} did not finish within {timeout:g} s{seen}")
        self.run_id = run_id
        self.timeout = timeout
        self.run = run
        self.cause = cause
