"""``{{variable}}`` templates: parsing, variable discovery and rendering.

Shared by the SDK (rendering) and the server (validation at version creation), so both
agree on what a template means.

Syntax:
- ``{{ name }}`` inserts a variable; names are identifiers (``[A-Za-z_][A-Za-z0-9_]*``),
  whitespace inside the braces is ignored.
- ``\\{{`` and ``\\}}`` are literal ``{{`` and ``}}`` (for JSON examples in prompts).
- Any other ``{{`` without a closing ``}}``, or ``}}`` without an opening ``{{``, is a
  :class:`TemplateSyntaxError` naming the line and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from promptops.errors import MissingVariablesError, TemplateSyntaxError, UnknownVariablesError

__all__ = ["Template", "compile_template", "render", "variables"]

_TOKEN = re.compile(r"\\\{\{|\\\}\}|\{\{|\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_MAX_NAME = 128


def _where(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    column = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _error(source: str, pos: int, message: str) -> TemplateSyntaxError:
    line, column = _where(source, pos)
    return TemplateSyntaxError(message, position=pos, line=line, column=column)


class Template:
    """A parsed template. Parse once, render many times."""

    __slots__ = ("_parts", "source", "variables")

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise TypeError("template must be a str")
        self.source = source
        # _parts alternates literal text and variable names: [lit, name, lit, name, ..., lit]
        parts: list[str] = []
        literal: list[str] = []
        pos = 0
        for match in _TOKEN.finditer(source):
            token = match.group()
            start = match.start()
            if start < pos:  # inside a variable we already consumed
                continue
            literal.append(source[pos:start])
            if token in ("\\{{", "\\}}"):
                literal.append(token[1:])
                pos = match.end()
            elif token == "}}":
                raise _error(source, start, "'}}' without a matching '{{'")
            else:
                close = source.find("}}", match.end())
                nxt = source.find("{{", match.end())
                if close == -1 or (nxt != -1 and nxt < close):
                    raise _error(source, start, "'{{' is not closed by '}}'")
                name = source[match.end() : close].strip()
                if not name:
                    raise _error(source, start, "empty variable name in '{{}}'")
                if len(name) > _MAX_NAME or not _NAME.match(name):
                    raise _error(
                        source,
                        start,
                        f"invalid variable name {name[:40]!r} (use letters, digits and _,"
                        " not starting with a digit)",
                    )
                parts.append("".join(literal))
                literal = []
                parts.append(name)
                pos = close + 2
        literal.append(source[pos:])
        parts.append("".join(literal))
        self._parts = tuple(parts)
        self.variables: tuple[str, ...] = tuple(dict.fromkeys(parts[1::2]))

    def render(self, values: Mapping[str, Any] | None = None, *, strict: bool = True) -> str:
        """Render with ``values``; every variable must be given.

        With ``strict`` (the default) a value for a name the template does not use is an
        error too, which catches typos in variable names.
        """
        values = values or {}
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise MissingVariablesError(missing)
        if strict and len(values) != len(self.variables):
            unknown = sorted(k for k in values if k not in self.variables)
            if unknown:
                raise UnknownVariablesError(unknown)
        parts = self._parts
        if len(parts) == 1:
            return parts[0]
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            out.append(str(values[parts[i]]))
            out.append(parts[i + 1])
        return "".join(out)

    def __repr__(self) -> str:
        return f"Template(variables={list(self.variables)!r})"


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Parse ``source`` (memoised: the same text is parsed once)."""
    return Template(source)


def variables(source: str) -> list[str]:
    """The variable names ``source`` uses, in order of first use."""
    return list(compile_template(source).variables)


def render(source: str, values: Mapping[str, Any] | None = None, *, strict: bool = True) -> str:
    """Parse (memoised) and render ``source``."""
    return compile_template(source).render(values, strict=strict)
