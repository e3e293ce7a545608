"""The PromptOps Python SDK: ``Client``, ``AsyncClient``, ``Prompt`` and the SDK errors.

Imports only httpx and the shared ``promptops.templating``; never server code.
See docs/sdk.md.
"""

from __future__ import annotations

from promptops.sdk.agent_run import AgentRun, AgentStep
from promptops.sdk.client import AsyncClient, Client
from promptops.sdk.errors import (
    AgentNotFoundError,
    AgentRunError,
    AgentRunTimeoutError,
    AgentUnavailableError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InputTypeError,
    InvalidOutputError,
    InvalidResponseError,
    MissingVariablesError,
    PermissionDeniedError,
    PlaceholderValueError,
    PromptNotFoundError,
    PromptShapeError,
    PromptUnavailableError,
    SDKError,
    ServerError,
    TemplateError,
    UnknownVariablesError,
    UnresolvedPartialError,
    UnsupportedFieldError,
)
from promptops.sdk.prompt import Prompt
from promptops.sdk.run_result import ToolCall

__all__ = [
    "APIError",
    "AgentNotFoundError",
    "AgentRun",
    "AgentRunError",
    "AgentRunTimeoutError",
    "AgentStep",
    "AgentUnavailableError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "InputTypeError",
    "InvalidOutputError",
    "InvalidResponseError",
    "MissingVariablesError",
    "PermissionDeniedError",
    "PlaceholderValueError",
    "Prompt",
    "PromptNotFoundError",
    "PromptShapeError",
    "PromptUnavailableError",
    "SDKError",
    "ServerError",
    "TemplateError",
    "ToolCall",
    "UnknownVariablesError",
    "UnresolvedPartialError",
    "UnsupportedFieldError",
]
