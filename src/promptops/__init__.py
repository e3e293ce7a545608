"""PromptOps: versioned prompts for LLM applications.

``pip install promptops`` gives the SDK; ``pip install "promptops[server]"`` adds the server.

The SDK names below are loaded on first use (PEP 562), so ``import promptops`` stays cheap
for the server and the CLI, and never imports server code or its dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from promptops.errors import PromptOpsError
    from promptops.sdk import (
        AgentNotFoundError,
        AgentRun,
        AgentRunError,
        AgentRunTimeoutError,
        AgentStep,
        AgentUnavailableError,
        APIError,
        AsyncClient,
        AuthenticationError,
        Client,
        ConfigurationError,
        ConflictError,
        InputTypeError,
        InvalidOutputError,
        InvalidResponseError,
        MissingVariablesError,
        PermissionDeniedError,
        PlaceholderValueError,
        Prompt,
        PromptNotFoundError,
        PromptShapeError,
        PromptUnavailableError,
        SDKError,
        ServerError,
        TemplateError,
        ToolCall,
        UnknownVariablesError,
        UnresolvedPartialError,
        UnsupportedFieldError,
    )

# name -> module that defines it
_LAZY = {
    "PromptOpsError": "promptops.errors",
    "APIError": "promptops.sdk",
    "AgentNotFoundError": "promptops.sdk",
    "AgentRun": "promptops.sdk",
    "AgentRunError": "promptops.sdk",
    "AgentRunTimeoutError": "promptops.sdk",
    "AgentStep": "promptops.sdk",
    "AgentUnavailableError": "promptops.sdk",
    "ConflictError": "promptops.sdk",
    "AsyncClient": "promptops.sdk",
    "AuthenticationError": "promptops.sdk",
    "Client": "promptops.sdk",
    "ConfigurationError": "promptops.sdk",
    "InputTypeError": "promptops.sdk",
    "InvalidOutputError": "promptops.sdk",
    "InvalidResponseError": "promptops.sdk",
    "MissingVariablesError": "promptops.sdk",
    "PermissionDeniedError": "promptops.sdk",
    "PlaceholderValueError": "promptops.sdk",
    "Prompt": "promptops.sdk",
    "PromptNotFoundError": "promptops.sdk",
    "PromptShapeError": "promptops.sdk",
    "PromptUnavailableError": "promptops.sdk",
    "SDKError": "promptops.sdk",
    "ServerError": "promptops.sdk",
    "TemplateError": "promptops.sdk",
    "ToolCall": "promptops.sdk",
    "UnknownVariablesError": "promptops.sdk",
    "UnresolvedPartialError": "promptops.sdk",
    "UnsupportedFieldError": "promptops.sdk",
}

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
    "PromptOpsError",
    "PromptShapeError",
    "PromptUnavailableError",
    "SDKError",
    "ServerError",
    "TemplateError",
    "ToolCall",
    "UnknownVariablesError",
    "UnresolvedPartialError",
    "UnsupportedFieldError",
    "__version__",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'promptops' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip __getattr__
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
