"""The one exception tree of the ``promptops`` package.

Every error raised on purpose by PromptOps code derives from :class:`PromptOpsError`.

    PromptOpsError
    ├── TemplateError                 (templating, shared by SDK and server)
    │   ├── TemplateSyntaxError       unbalanced ``{{``/``}}``, bad variable name
    │   ├── MissingVariablesError     render() without a required variable
    │   └── UnknownVariablesError     render() with a variable the template lacks
    ├── SDK errors (promptops.sdk.errors)
    └── domain errors (promptops.domain.errors, server side)
"""

from __future__ import annotations

__all__ = [
    "MissingVariablesError",
    "PromptOpsError",
    "TemplateError",
    "TemplateSyntaxError",
    "UnknownVariablesError",
]


class PromptOpsError(Exception):
    """Base class of every PromptOps error."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TemplateError(PromptOpsError, ValueError):
    """A template could not be parsed or rendered."""


class TemplateSyntaxError(TemplateError):
    """The template text is malformed; ``line``/``column`` (1-based) say where."""

    def __init__(self, message: str, *, position: int, line: int, column: int) -> None:
        super().__init__(f"{message} at line {line}, column {column}")
        self.reason = message
        self.position = position
        self.line = line
        self.column = column


class MissingVariablesError(TemplateError, KeyError):
    """render() was not given every variable the template uses."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("missing template variable(s): " + ", ".join(names))
        self.names = names

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class UnknownVariablesError(TemplateError):
    """render() was given variables the template does not use (strict mode)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("unknown template variable(s): " + ", ".join(names))
        self.names = names
