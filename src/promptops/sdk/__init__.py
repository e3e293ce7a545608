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
    InvalidResponseError,
    MissingVariablesError,
    PermissionDeniedError,
    PromptNotFoundError,
    PromptUnavailableError,
    SDKError,
    ServerError,
    TemplateError,
    UnknownVariablesError,
)
from promptops.sdk.prompt import Prompt

__all__ = [
    "APIError",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "InvalidResponseError",
    "MissingVariablesError",
    "PermissionDeniedError",
    "Prompt",
    "PromptNotFoundError",
    "PromptUnavailableError",
    "SDKError",
    "ServerError",
    "TemplateError",
    "UnknownVariablesError",
]
