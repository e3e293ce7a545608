"""The PromptOps Python SDK: ``Client``, ``AsyncClient``, ``Prompt`` and the SDK errors.

Imports only httpx and the shared ``promptops.templating``; never server code.
See docs/sdk.md.
"""

from __future__ import annotations

from promptops.sdk.client import AsyncClient, Client
from promptops.sdk.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
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
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
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
