"""The one exception tree of the ``promptops`` package.

Every error raised on purpose by PromptOps code derives from :class:`PromptOpsError`.

    PromptOpsError
    ├── TemplateError                 (templating, shared by SDK and server)
    │   ├── TemplateSyntaxError       unbalanced ``{{``/``}}``, bad variable name
    │   ├── MissingVariablesError     render() without a required variable
    │   ├── UnknownVariablesError     render() with a variable the template lacks
    │   ├── InputTypeError            a declared input given a value of another type
    │   ├── PlaceholderValueError     a placeholder given anything but messages
    │   ├── PromptShapeError          render_text()/render_system() of a chat prompt that
    │   │                             is not one system + one user message
    │   └── TemplateRenderError       a value or partial that cannot be rendered (a function)
    │       └── UnresolvedPartialError  ``{{> slug}}`` rendered without its template
    ├── SDK errors (promptops.sdk.errors)
    ├── BridgeError                   promptops gitops-bridge (promptops.gitops.bridge.errors)
    └── DomainError                   a request the server refuses (``code``, ``status``)
        ├── InvalidInputError         bad input (422): raised by the contract's validators
        └── the other domain errors (promptops.domain.errors, server side)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "DomainError",
    "InputTypeError",
    "InvalidInputError",
    "MissingVariablesError",
    "PlaceholderValueError",
    "PromptOpsError",
    "PromptShapeError",
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


class InputTypeError(TemplateError, TypeError):
    """A variable declared in the prompt's ``inputs`` was given a value of another type
    (also a ``TypeError``).

    ``name``: the variable; ``expected``: its declared type (``string``, ``number``,
    ``boolean``, ``list`` or ``object``); ``got``: the type of the value given, in the same
    JSON terms (``null`` for None; a Python type name for anything else)."""

    def __init__(self, name: str, expected: str, got: str) -> None:
        super().__init__(f"variable {name!r} is declared as {expected}, got {got}")
        self.name = name
        self.expected = expected
        self.got = got


class PlaceholderValueError(TemplateError):
    """A placeholder's value is not a list of messages.

    ``name``: the placeholder; ``index``: the offending message's position in the list
    (None when the value itself is not a list); ``reason``: what is wrong."""

    def __init__(self, name: str, reason: str, *, index: int | None = None) -> None:
        where = name if index is None else f"{name}[{index}]"
        super().__init__(f"placeholder {where}: {reason}")
        self.name = name
        self.index = index
        self.reason = reason


class PromptShapeError(TemplateError):
    """``render_text()`` or ``render_system()`` of a chat prompt whose messages are not the
    older shape (one optional system message, then one user message): use ``render()``.

    ``slug``: the prompt; ``method``: the method called."""

    def __init__(self, slug: str, method: str, detail: str) -> None:
        super().__init__(f"{method}() of prompt {slug!r}: {detail}; use render()")
        self.slug = slug
        self.method = method


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
