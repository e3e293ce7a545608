"""Parsing: template text to a node list (see the package docstring for the rules)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from promptops.errors import (
    TemplateSyntaxError,
)

_TOKEN = re.compile(r"\\\{\{|\\\}\}|\{\{|\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*\Z")
_PARTIAL = re.compile(r"([a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?)(?:@([1-9][0-9]{0,8}))?\Z")
_MAX_NAME = 128
_MAX_PARTIAL_DEPTH = 32
_MAX_SECTION_DEPTH = 16  # a section is a for loop in the generated code; Python allows 20
_MAX_GENERATED_TAGS = 1000  # larger templates are always walked

# Node kinds. A node list holds literal strs and tuples:
# (_VAR, head, rest, name, line, column)
# (_SECTION | _INVERTED, head, rest, name, children, line, column)
# (_PARTIAL, Partial)
_VAR, _SECTION, _INVERTED, _PARTIAL_NODE = 1, 2, 3, 4
_MISS: Any = object()


@dataclass(frozen=True, slots=True)
class Partial:
    """A ``{{> slug}}`` or ``{{> slug@version}}`` tag; ``indent`` is the whitespace before
    a standalone tag (prepended to each line of the partial), else ``""``."""

    slug: str
    version: int | None
    line: int
    column: int
    indent: str = ""

    @property
    def key(self) -> str:
        """The key of this partial in the ``partials`` given to :meth:`Template.render`."""
        return self.slug if self.version is None else f"{self.slug}@{self.version}"


def _where(source: str, pos: int) -> tuple[int, int]:
    line = source.count("\n", 0, pos) + 1
    column = pos - (source.rfind("\n", 0, pos) + 1) + 1
    return line, column


def _error(source: str, pos: int, message: str) -> TemplateSyntaxError:
    line, column = _where(source, pos)
    return TemplateSyntaxError(message, position=pos, line=line, column=column)


def _check_name(source: str, pos: int, name: str, what: str) -> None:
    if name == ".":
        return
    if not name:
        raise _error(source, pos, f"empty {what} name in '{{{{}}}}'")
    if len(name) > _MAX_NAME or not _NAME.match(name):
        raise _error(
            source,
            pos,
            f"invalid {what} name {name[:40]!r} (use letters, digits and _, not starting with"
            " a digit; dotted paths like a.b)",
        )


def _standalone(source: str, start: int, end: int) -> tuple[str, int] | None:
    """For a tag at ``source[start:end]`` alone on its line: (indentation, where the next
    line starts); else None."""
    line_start = source.rfind("\n", 0, start) + 1
    before = source[line_start:start]
    if before.strip(" \t"):
        return None
    newline = source.find("\n", end)
    after = source[end:] if newline == -1 else source[end:newline]
    if newline != -1 and after.endswith("\r"):
        after = after[:-1]
    if after.strip(" \t"):
        return None
    return before, len(source) if newline == -1 else newline + 1


class _Parser:
    """One pass over the source building the node tree and the name lists."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.variables: dict[str, None] = {}
        self.names: dict[str, None] = {}
        self.partials: list[Partial] = []
        self.root: list[Any] = []
        self.nodes = self.root  # where the next node goes
        # open sections: (name, start, the node list the section is in, not inverted)
        self.opened: list[tuple[str, int, list[Any], bool]] = []
        self.literal: list[str] = []  # text since the last tag
        self._line = (0, 1, 0)  # (a position, its line, where that line starts)
        self.tags = 0

    def parse(self) -> tuple[Any, ...]:
        source = self.source
        pos = 0
        while (match := _TOKEN.search(source, pos)) is not None:
            start = match.start()
            token = match.group()
            self.literal.append(source[pos:start])
            if token in ("\\{{", "\\}}"):
                self.literal.append(token[1:])
                pos = match.end()
            elif token == "}}":
                raise _error(source, start, "'}}' without a matching '{{'")
            else:
                pos = self._tag(start)
        self.literal.append(source[pos:])
        if self.opened:
            name, open_start, _parent, _loop = self.opened[-1]
            raise _error(source, open_start, f"section {_tag('#', name)} is not closed")
        self._flush()
        return _freeze(self.root)

    def _where(self, pos: int) -> tuple[int, int]:
        """Line and column of ``pos``, counting on from the last tag (tags come in order)."""
        last, line, line_start = self._line
        if pos < last:
            return _where(self.source, pos)
        newlines = self.source.count("\n", last, pos)
        if newlines:
            line += newlines
            line_start = self.source.rfind("\n", last, pos) + 1
        self._line = (pos, line, line_start)
        return line, pos - line_start + 1

    def _flush(self) -> None:
        text = "".join(self.literal)
        self.literal = []
        if text:
            self.nodes.append(text)

    def _tag(self, start: int) -> int:
        """Parse the tag at ``start``; return where the text after it starts."""
        source = self.source
        self.tags += 1
        triple = source.startswith("{", start + 2)
        inner = start + 3 if triple else start + 2
        close = source.find("}}", inner)
        nxt = source.find("{{", inner)
        if close == -1 or (nxt != -1 and nxt < close):
            raise _error(source, start, "'{{' is not closed by '}}'")
        end = close + 2
        if triple:
            if not source.startswith("}", end):
                raise _error(source, start, "'{{{' is not closed by '}}}'")
            end += 1
        content = source[inner:close].strip()
        sigil = "{" if triple else content[:1]
        indent, pos = "", end
        if sigil and sigil in "#^/!>":
            alone = _standalone(source, start, end)
            if alone is not None:  # the line goes: its indentation and its line end
                indent, pos = alone
                if indent:
                    self.literal[-1] = self.literal[-1][: -len(indent)]
        self._flush()
        if sigil == "=":
            raise _error(
                source,
                start,
                f"set-delimiter tags like {source[start:end][:40]!r} are not supported"
                " (write literal braces as \\{{ and \\}})",
            )
        if sigil and sigil in "<$":
            raise _error(source, start, f"'{{{{{sigil}' (template inheritance) is not supported")
        name = content[1:].strip() if sigil and sigil in "#^/>&!" else content
        if sigil == ">":
            self.nodes.append((_PARTIAL_NODE, self._partial(start, name, indent)))
        elif sigil == "/":
            self._close(start, name)
        elif sigil != "!":
            self._open(start, name, sigil)
        return pos

    def _open(self, start: int, name: str, sigil: str) -> None:
        """A variable, or the start of a section."""
        section = sigil in ("#", "^")
        _check_name(self.source, start, name, "section" if section else "variable")
        head, _, dotted = name.partition(".") if name != "." else (".", "", "")
        rest = tuple(dotted.split(".")) if dotted else ()
        if head != ".":
            if not self.opened:
                self.variables.setdefault(head, None)
            self.names.setdefault(head, None)
        line, column = self._where(start)
        if not section:
            self.nodes.append((_VAR, head, rest, name, line, column))
            return
        if sigil == "#" and sum(tag[3] for tag in self.opened) >= _MAX_SECTION_DEPTH:
            raise _error(
                self.source, start, f"sections are nested more than {_MAX_SECTION_DEPTH} deep"
            )
        children: list[Any] = []
        kind = _SECTION if sigil == "#" else _INVERTED
        self.nodes.append((kind, head, rest, name, children, line, column))
        self.opened.append((name, start, self.nodes, sigil == "#"))
        self.nodes = children

    def _close(self, start: int, name: str) -> None:
        if not self.opened:
            raise _error(self.source, start, f"{_tag('/', name)} without a section to close")
        open_name, open_start, parent, _loop = self.opened.pop()
        if name != open_name:
            line, column = _where(self.source, open_start)
            raise _error(
                self.source,
                start,
                f"{_tag('/', name)} does not close {_tag('#', open_name)} (opened at line"
                f" {line}, column {column})",
            )
        self.nodes = parent

    def _partial(self, start: int, ref: str, indent: str) -> Partial:
        match = _PARTIAL.match(ref)
        if match is None:
            raise _error(
                self.source,
                start,
                f"invalid partial {ref[:40]!r} (use '{{{{> slug}}}}' or '{{{{> slug@3}}}}' with a"
                " prompt slug: lowercase letters, digits, - and _)",
            )
        line, column = self._where(start)
        version = int(match.group(2)) if match.group(2) else None
        partial = Partial(match.group(1), version, line, column, indent)
        self.partials.append(partial)
        return partial


def _tag(sigil: str, name: str) -> str:
    return "'{{" + sigil + name[:40] + "}}'"


def _freeze(nodes: list[Any]) -> tuple[Any, ...]:
    """Lists of children become tuples (a compiled template is immutable)."""
    out: list[Any] = []
    for node in nodes:
        if type(node) is tuple and node[0] in (_SECTION, _INVERTED):
            node = (*node[:4], _freeze(node[4]), *node[5:])
        out.append(node)
    return tuple(out)
