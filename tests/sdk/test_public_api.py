"""The SDK's public surface, and that importing it never loads the server."""

from __future__ import annotations

import subprocess
import sys

import promptops
import promptops.sdk
from promptops.errors import PromptOpsError

SDK_API = {
    "APIError",
    "AgentNotFoundError",
    "AgentRun",
    "AgentRunError",
    "AgentRunTimeoutError",
    "AgentStep",
    "AgentUnavailableError",
    "ConflictError",
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
}


def test_sdk_all_is_held() -> None:
    assert set(promptops.sdk.__all__) == SDK_API
    for name in SDK_API:
        assert getattr(promptops, name) is getattr(promptops.sdk, name)
    assert set(promptops.__all__) == SDK_API | {"__version__", "PromptOpsError"}
    assert set(promptops.__all__) <= set(dir(promptops))
    assert set(promptops._LAZY) == set(promptops.__all__) - {"__version__"}


def test_every_sdk_error_is_a_promptops_error() -> None:
    for name in SDK_API:
        obj = getattr(promptops.sdk, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, PromptOpsError), name
    assert issubclass(promptops.PromptNotFoundError, promptops.APIError)
    assert issubclass(promptops.ConfigurationError, ValueError)


def test_top_level_import_does_not_load_the_server() -> None:
    code = (
        "import promptops, sys; promptops.Client; promptops.AsyncClient; promptops.Prompt;"
        " promptops.PromptUnavailableError;"
        " assert not any(m.startswith(('fastapi','sqlalchemy','promptops.server',"
        "'promptops.db')) for m in sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_bare_import_is_lazy() -> None:
    code = "import promptops, sys; assert 'httpx' not in sys.modules; assert promptops.__version__"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_unknown_attribute() -> None:
    try:
        promptops.NoSuchThing  # noqa: B018
    except AttributeError as exc:
        assert "NoSuchThing" in str(exc)
    else:
        raise AssertionError("expected AttributeError")
