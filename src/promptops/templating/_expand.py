"""Expansion: a template with its partials written into it (what the server serves).

``expand(source, partials)`` replaces each ``{{> key}}`` tag by the partial's text, itself
expanded, so the result renders exactly as ``source`` renders with those partials:

- an inline tag is replaced by the partial's text;
- a standalone tag (alone on its line, only spaces/tabs around it) takes its whole line,
  line end included, and the partial's text goes there with the tag's indentation before
  each of its lines (the Mustache rule the engine applies when it renders a partial).

Pasting text next to other text can change how the result is read where the engine reads
the two apart: a ``{`` or a backslash at a partial's end meeting a ``{{`` after it, or a
section tag that was alone on the partial's first or last line no longer being alone. Each
expansion is checked: the expanded template must read as the same sequence of texts, names
and sections as the template with its partials; otherwise :class:`SpliceError`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptops.errors import TemplateError, TemplateSyntaxError, UnresolvedPartialError
from promptops.templating._parse import _INVERTED, _PARTIAL_NODE, _SECTION, _VAR, _standalone
from promptops.templating._render import _indent

__all__ = ["SpliceError", "expand"]

_MAX_DEPTH = 32


class SpliceError(TemplateError):
    """Writing a partial's text in place of its tag would change what the template means;
    ``key`` is the partial's key, ``line``/``column`` where its tag is."""

    def __init__(self, key: str, line: int, column: int) -> None:
        self.key = key
        self.line = line
        self.column = column
        super().__init__(
            f"{{{{> {key}}}}} at line {line}, column {column} cannot be written in place:"
            " its text would join the text around the tag (a '{' or '\\' at its end before"
            " '{{', or a section tag alone on its first or last line); put the tag on a line"
            " of its own or change the edge of the included text"
        )


def expand(source: str, partials: Mapping[str, str]) -> str:
    """``source`` with every partial (recursively) replaced by its text; ``partials`` maps
    :attr:`Partial.key` (``"slug"``, ``"slug@3"``) to template text. Raises
    :class:`UnresolvedPartialError` for a key not given, :class:`SpliceError` when the
    result would not render as the engine renders ``source`` with ``partials``."""
    return _expand(source, partials, 0)


def _expand(source: str, partials: Mapping[str, str], depth: int) -> str:
    from promptops.templating import compile_template  # the package imports this module

    template = compile_template(source)
    if not template.partials:
        return source
    if depth >= _MAX_DEPTH:
        raise TemplateError(f"partials nested more than {_MAX_DEPTH} deep")
    starts = [0]
    for i, char in enumerate(source):
        if char == "\n":
            starts.append(i + 1)
    out: list[str] = []
    pos = 0
    for partial in template.partials:
        text = partials.get(partial.key)
        if text is None:
            raise UnresolvedPartialError(partial)
        start = starts[partial.line - 1] + partial.column - 1
        end = source.index("}}", start) + 2
        alone = _standalone(source, start, end)
        if alone is not None:
            indent, after = alone
            start -= len(indent)
            if indent:
                text = _indent(text, indent)
            end = after
        out.append(source[pos:start])
        out.append(_expand(text, partials, depth + 1))
        pos = end
    out.append(source[pos:])
    expanded = "".join(out)
    if not _same(expanded, source, partials):
        raise _first_bad(source, partials, template.partials, depth)
    return expanded


def _same(expanded: str, source: str, partials: Mapping[str, str]) -> bool:
    try:
        return _program(expanded, {}, 0) == _program(source, partials, 0)
    except TemplateSyntaxError:  # the pasted text no longer parses
        return False


def _same_with(spliced: str, source: str, partials: Mapping[str, str]) -> bool:
    try:
        return _program(spliced, partials, 0) == _program(source, partials, 0)
    except TemplateSyntaxError:
        return False


def _first_bad(source: str, partials: Mapping[str, str], tags: Any, depth: int) -> SpliceError:
    """The tag to blame: the first whose expansion alone already changes the meaning."""
    for partial in tags:
        try:
            _expand_one(source, partials, partial, depth)
        except SpliceError:
            return SpliceError(partial.key, partial.line, partial.column)
    first = tags[0]
    return SpliceError(first.key, first.line, first.column)


def _expand_one(source: str, partials: Mapping[str, str], partial: Any, depth: int) -> None:
    """Raise :class:`SpliceError` if writing this one tag's text in place is not faithful."""
    starts = [0] + [i + 1 for i, c in enumerate(source) if c == "\n"]
    start = starts[partial.line - 1] + partial.column - 1
    end = source.index("}}", start) + 2
    text = partials[partial.key]
    alone = _standalone(source, start, end)
    if alone is not None:
        indent, end = alone
        start -= len(indent)
        text = _indent(text, indent) if indent else text
    spliced = source[:start] + _expand(text, partials, depth + 1) + source[end:]
    if not _same_with(spliced, source, partials):
        raise SpliceError(partial.key, partial.line, partial.column)


def _program(source: str, partials: Mapping[str, str], depth: int) -> list[Any]:
    """What a template does, without positions: texts (adjacent ones joined), names, and
    sections with their own programs; partials inlined."""
    from promptops.templating import compile_template

    out: list[Any] = []
    _flatten(compile_template(source)._nodes, partials, depth, out)
    return out


def _flatten(nodes: Any, partials: Mapping[str, str], depth: int, out: list[Any]) -> None:
    from promptops.templating import compile_template

    for node in nodes:
        if type(node) is str:
            if out and type(out[-1]) is str:
                out[-1] += node
            else:
                out.append(node)
        elif node[0] == _VAR:
            out.append(("var", node[3]))
        elif node[0] in (_SECTION, _INVERTED):
            children: list[Any] = []
            _flatten(node[4], partials, depth, children)
            out.append(("section", node[0], node[3], tuple(children)))
        elif node[0] == _PARTIAL_NODE:
            partial = node[1]
            text = partials.get(partial.key)
            if text is None:
                raise UnresolvedPartialError(partial)
            if depth >= _MAX_DEPTH:
                raise TemplateError(f"partials nested more than {_MAX_DEPTH} deep")
            if partial.indent:
                text = _indent(text, partial.indent)
            _flatten(compile_template(text)._nodes, partials, depth + 1, out)
