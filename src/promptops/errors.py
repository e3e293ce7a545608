"""The one exception tree of the ``promptops`` package.

Every error raised on purpose by PromptOps code derives from :class:`PromptOpsError`.

    PromptOpsError
    ├── TemplateError                 (templating, shared by SDK and server)
    │   ├── TemplateSyntaxError       unbalanced ``{{``/``}}``, bad variable name
    │   ├── MissingVariablesError     render() without a required variable
    │   ├── UnknownVariablesError     render() with a variable the template lacks
    │   └── TemplateRenderError       a value or partial that cannot be rendered (a function)
    │       └── UnresolvedPartialError  ``{{> slug}}`` rendered without its template
    ├── SDK errors (promptops.sdk.errors)
    └── DomainError                   a request the server refuses (``code``, ``status``)
        ├── InvalidInputError         bad input (422): raised by the contract's validators
        └── the other domain errors (promptops.domain.errors, server side)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DomainError",
    "InvalidInputError",
    "MissingVariablesError",
    "PromptOpsError",
    "TemplateError",
    "TemplateRenderError",
    "TemplateSyntaxError",
    "UnknownVariablesError",
    "UnresolvedPartialError",
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
    """render() was not given every variable the template uses.

    ``detail`` (e.g. where a name inside a section resolved nowhere) is appended to the
    message."""

    def __init__(self, names: list[str], *, detail: str | None = None) -> None:
        message = "missing template variable(s): " + ", ".join(names)
        super().__init__(f"{message} ({detail})" if detail else message)
        self.names = names

    def __str__(self) -> str:  # KeyError would repr() the message
        return self.message


class UnknownVariablesError(TemplateError):
    """render() was given variables the template does not use (strict mode)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__("unknown template variable(s): " + ", ".join(names))
        self.names = names


class TemplateRenderError(TemplateError):
    """A value cannot be rendered (a function: Mustache lambdas are not supported), or
    partials nest too deep."""


class UnresolvedPartialError(TemplateRenderError):
    """A ``{{> slug}}`` partial was rendered without its template in ``partials``.

    ``partial`` is the :class:`promptops.templating.Partial` tag (slug, version, line,
    column)."""

    def __init__(self, partial: Any) -> None:
        super().__init__(
            f"partial '{{{{> {partial.key}}}}}' at line {partial.line}, column"
            f" {partial.column} is not resolved (partials are resolved by the server)"
        )
        self.partial = partial
        self.slug: str = partial.slug
        self.version: int | None = partial.version


class DomainError(PromptOpsError):
    """A request the server refuses. ``code`` is stable and machine-readable; the server maps
    it to ``status`` through one handler."""

    code = "error"
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class InvalidInputError(DomainError):
    """Input that breaks a rule of the contract (``promptops.contract``): 422, naming the
    field."""

    code = "invalid_input"
    status = 422
