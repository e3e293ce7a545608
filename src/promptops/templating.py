"""Mustache-compatible prompt templates: parsing, variable discovery and rendering.

Shared by the SDK (rendering) and the server (validation at version creation), so both
agree on what a template means. Language-neutral cases in ``promptops/contract/fixtures/
render/`` hold these rules for every implementation (the TypeScript SDK runs them too).

Tags (whitespace inside the braces is ignored):

- ``{{name}}`` inserts a value **as is**: prompts are not HTML, nothing is escaped, so
  ``{{{name}}}`` and ``{{&name}}`` are synonyms. Names are identifiers
  (``[A-Za-z_][A-Za-z0-9_]*``) or dotted paths of them (``{{customer.name}}``); ``{{.}}`` is
  the current item (the implicit iterator).
- ``{{#name}}...{{/name}}`` is a section: a non-empty list repeats it once per item, the item
  pushed on the context stack; any other truthy value shows it once, pushed on the stack (so
  ``{{#customer}}{{name}}{{/customer}}`` reads ``customer.name``); a falsy value hides it.
  ``{{^name}}...{{/name}}`` (inverted) shows only when the value is falsy or absent.
- Falsy: ``false``, ``null``/``None``, an empty list, ``""`` and the number ``0`` (as in
  mustache.js and in Python's pystache and chevron). An empty object (``{}``) is truthy, as in
  JavaScript.
- ``{{! comment }}`` renders nothing.
- ``{{> slug}}`` and ``{{> slug@3}}`` include another template (a partial); they parse into
  :class:`Partial` entries (:attr:`Template.partials`), and the server resolves them:
  :meth:`Template.render` takes the resolved templates as ``partials``, keyed by
  :attr:`Partial.key` (``"slug"`` or ``"slug@3"``), and renders each in the current
  context; an unresolved partial is an :class:`UnresolvedPartialError`.
- Standalone lines: a section, inverted, close, comment or partial tag alone on its line
  (only spaces/tabs around it) removes that whole line, newline included; a standalone
  partial's indentation is prepended to every line of the partial (Mustache spec rules).
- Refused: set-delimiter tags (``{{=<% %>=}}``) and template inheritance (``{{<``, ``{{$``)
  are a :class:`TemplateSyntaxError` naming the line and column; functions (Mustache
  lambdas) in the values are a :class:`TemplateRenderError` at render.
- Kept from the pre-Mustache syntax, so stored templates render as before: ``\\{{`` and
  ``\\}}`` are literal ``{{`` and ``}}``; any other ``{{`` without a closing ``}}``, or
  ``}}`` without an opening ``{{``, is a :class:`TemplateSyntaxError` naming the line and
  column.

Name lookup follows Mustache's context stack: the first part of a name is looked up in the
innermost pushed item that is an object (mapping) having it, then outwards up to the
values given to render; the other parts of a dotted name are looked up in that value only.
Lookups read mappings only (JSON objects), never attributes.

Variables: :attr:`Template.variables` are the names a render needs (first part of each
name) in order of first use: names used outside any section, plus the names of top-level
sections. Names used only inside a section are not required, since they usually resolve
against the item (``{{#items}}{{title}}{{/items}}`` needs ``items`` only); they are listed
with the rest in :attr:`Template.names`, which is what strict rendering accepts.

Missing values: a required variable absent from the values is a
:class:`MissingVariablesError` before rendering; a name that resolves nowhere when it is
inserted (inside a section, through a broken dotted path, or in a partial) is one too,
naming it. A *section* whose name resolves nowhere is hidden (inverted: shown), which is how
optional keys of items are tested. Pass ``None`` to insert nothing.

Inserted values: a string as is; ``true``/``false`` for booleans; nothing for ``None``;
numbers as JavaScript prints them (``3``, ``2.5``, ``2.0`` as ``2``, ``1e-7``, ``1e+21``);
lists and objects as compact JSON (``[1,2]``, ``{"a":"b"}``); any other object as
``str()``.

Compiled once: :func:`compile_template` caches templates by source. A :class:`Template` holds
the node list built by the parser; its first render walks that list, and makes from it a
Python function (literal texts and names as constants) that every later render runs, so
neither parsing nor a regular expression happens per render. Templates of more than 1000
tags are always walked (Python would take long to compile their function).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from promptops.errors import (
    MissingVariablesError,
    TemplateRenderError,
    TemplateSyntaxError,
    UnknownVariablesError,
    UnresolvedPartialError,
)

__all__ = ["Partial", "Template", "compile_template", "render", "variables"]

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


class Template:
    """A compiled template: parse once, render many times."""

    __slots__ = ("_nodes", "_render", "_tags", "_uses", "names", "partials", "source", "variables")

    def __init__(self, source: str) -> None:
        if not isinstance(source, str):
            raise TypeError("template must be a str")
        self.source = source
        parser = _Parser(source)
        self._nodes: tuple[Any, ...] = parser.parse()
        self._render: Any = None  # the generated function, once made
        self._uses = 0
        self._tags = parser.tags
        self.variables: tuple[str, ...] = tuple(parser.variables)
        """Names a render needs: used outside sections, and top-level section names."""
        self.names: tuple[str, ...] = tuple(parser.names)
        """Every first name part the template looks up (``variables`` first)."""
        self.partials: tuple[Partial, ...] = tuple(parser.partials)
        """The ``{{> slug}}`` tags, in order."""

    def render(
        self,
        values: Mapping[str, Any] | None = None,
        partials: Mapping[str, Template] | None = None,
        *,
        strict: bool = True,
    ) -> str:
        """Render with ``values``; every name of :attr:`variables` must be given.

        With ``strict`` (the default) a value for a name the template (or one of its
        partials) never looks up is an error too, which catches typos in variable names.
        ``partials`` maps :attr:`Partial.key` to the resolved template.
        """
        if values is None:
            values = {}
        elif type(values) is not dict and not isinstance(values, Mapping):
            raise TypeError(f"template values must be a mapping, not {type(values).__name__}")
        missing = [name for name in self.variables if name not in values]
        if missing:
            raise MissingVariablesError(missing)
        known: set[str] | tuple[str, ...] = self.names
        if self.partials:
            known = _check_partials(self, partials or {})
        if strict and len(values) != len(self.variables):
            unknown = sorted(k for k in values if k not in known)
            if unknown:
                raise UnknownVariablesError(unknown)
        nodes = self._nodes
        if len(nodes) == 1 and type(nodes[0]) is str:
            return nodes[0]
        out: list[str] = []
        self._run([values], out, partials, 0)
        return "".join(out)

    def _run(
        self,
        stack: list[Any],
        out: list[str],
        partials: Mapping[str, Template] | None,
        depth: int,
    ) -> None:
        """Render onto ``out``: the first time by walking the node list; from the second
        on through a function generated from it (not for huge templates, where Python
        would take long to compile it)."""
        function = self._render
        if function is None:
            self._uses += 1
            if self._uses == 1 or self._tags > _MAX_GENERATED_TAGS:
                _walk(self._nodes, stack, out, partials, depth)
                return
            function = self._render = _generate(self)
        function(stack, out, partials, depth)

    def __repr__(self) -> str:
        return f"Template(variables={list(self.variables)!r})"


def _check_partials(template: Template, partials: Mapping[str, Template]) -> set[str]:
    """Every partial reachable from ``template`` is given; the names they all look up."""
    known: set[str] = set(template.names)
    seen = {id(template)}
    todo = [template]
    while todo:
        for partial in todo.pop().partials:
            included = partials.get(partial.key)
            if included is None:
                raise UnresolvedPartialError(partial)
            if not isinstance(included, Template):
                raise TypeError(
                    f"partials[{partial.key!r}] must be a Template (compile_template(text)),"
                    f" not {type(included).__name__}"
                )
            if id(included) not in seen:
                seen.add(id(included))
                known.update(included.names)
                todo.append(included)
    return known


def _lookup(stack: list[Any], head: str) -> Any:
    if head == ".":
        return stack[-1]
    for context in reversed(stack):
        if type(context) is dict or isinstance(context, Mapping):
            value = context.get(head, _MISS)
            if value is not _MISS:
                return value
    return _MISS


def _walk(
    nodes: tuple[Any, ...],
    stack: list[Any],
    out: list[str],
    partials: Mapping[str, Template] | None,
    depth: int,
) -> None:
    """Render ``nodes`` by walking them (what the generated functions do, node by node)."""
    append = out.append
    for node in nodes:
        if type(node) is str:
            append(node)
            continue
        kind = node[0]
        if kind == _PARTIAL_NODE:
            _include(node[1], stack, out, partials, depth)
            continue
        value = _lookup(stack, node[1])
        for part in node[2]:
            value = _dig(value, part)
        if kind == _VAR:
            if value is _MISS:
                raise _missing(node, len(stack) > 1)
            append(value if type(value) is str else format_value(value, node[3]))
        elif kind == _INVERTED:
            if _falsy(value, node[3]):
                _walk(node[4], stack, out, partials, depth)
        else:
            for item in _items(value, node[3]):
                stack.append(item)
                _walk(node[4], stack, out, partials, depth)
                stack.pop()


def _dig(value: Any, part: str) -> Any:
    """The ``part`` of a looked-up value (a later part of a dotted name)."""
    if value is _MISS:
        return _MISS
    if type(value) is dict or isinstance(value, Mapping):
        return value.get(part, _MISS)
    return _MISS


def _items(value: Any, name: str) -> Any:
    """What a section repeats over: the list, the one truthy value, or nothing."""
    if type(value) is list or type(value) is tuple:
        return value
    if value is _MISS or not _truthy(value, name):
        return ()
    return (value,)


def _falsy(value: Any, name: str) -> bool:
    """Whether an inverted section shows."""
    if value is _MISS:
        return True
    if type(value) is list or type(value) is tuple:
        return not value
    return not _truthy(value, name)


# From its second render on, a template runs a Python function generated from its node list:
# literal texts and names are constants, and lookups in a dict item are inlined; the helpers
# above do the rest. Sections are nested for loops (Python allows at most 20 in a function).
_RUNTIME = {
    "EMPTY": {},
    "MISS": _MISS,
    "dig": _dig,
    "falsy": _falsy,
    "fmt": None,  # format_value, set below
    "include": None,  # _include, set below
    "items": _items,
    "lookup": _lookup,
    "missing": None,  # _missing, set below
}


def _generate(template: Template) -> Any:
    """The render function of ``template``: ``fn(stack, out, partials, depth)``."""
    helpers = ", ".join(f"{name}={name}" for name in _RUNTIME)
    lines = [
        f"def render(stack, out, partials, depth, {helpers}, T=T):",
        " append = out.append",
        " c0 = stack[-1]",
        " d0 = c0 if type(c0) is dict else EMPTY",
    ]
    tags: list[Any] = []  # the tag of each lookup, for error messages

    def lookup(node: tuple[Any, ...], level: int, pad: str) -> None:
        head, rest = node[1], node[2]
        if head == ".":
            lines.append(f"{pad}v = c{level}")
        else:  # the innermost item when it is a dict, else up the stack
            lines.append(f"{pad}v = d{level}.get({head!r}, MISS)")
            lines.append(f"{pad}if v is MISS: v = lookup(stack, {head!r})")
        for part in rest:
            lines.append(f"{pad}v = v.get({part!r}, MISS) if type(v) is dict else dig(v, {part!r})")

    def emit(nodes: tuple[Any, ...], level: int, pad: str) -> None:
        start = len(lines)
        for node in nodes:
            if type(node) is str:
                lines.append(f"{pad}append({node!r})")
                continue
            kind = node[0]
            tags.append(node)
            tag = len(tags) - 1
            if kind == _VAR:
                lookup(node, level, pad)
                if node[1] != "." or node[2]:
                    nested = "True" if level else "len(stack) > 1"
                    lines.append(f"{pad}if v is MISS: raise missing(T[{tag}], {nested})")
                lines.append(f"{pad}append(v if type(v) is str else fmt(v, {node[3]!r}))")
            elif kind == _SECTION:
                lookup(node, level, pad)
                item = f"c{level + 1}"
                lines.append(f"{pad}for {item} in items(v, {node[3]!r}):")
                lines.append(f"{pad} d{level + 1} = {item} if type({item}) is dict else EMPTY")
                lines.append(f"{pad} stack.append({item})")
                emit(node[4], level + 1, pad + " ")
                lines.append(f"{pad} stack.pop()")
            elif kind == _INVERTED:
                lookup(node, level, pad)
                lines.append(f"{pad}if falsy(v, {node[3]!r}):")
                emit(node[4], level, pad + " ")
            else:
                lines.append(f"{pad}include(T[{tag}][1], stack, out, partials, depth)")
        if len(lines) == start:
            lines.append(f"{pad}pass")

    emit(template._nodes, 0, " ")
    namespace = dict(_RUNTIME, T=tuple(tags))
    exec(compile("\n".join(lines), "<promptops template>", "exec"), namespace)
    return namespace["render"]


def _include(
    partial: Partial,
    stack: list[Any],
    out: list[str],
    partials: Mapping[str, Template] | None,
    depth: int,
) -> None:
    included = partials.get(partial.key) if partials else None
    if included is None:
        raise UnresolvedPartialError(partial)
    if depth >= _MAX_PARTIAL_DEPTH:
        raise TemplateRenderError(
            f"partials nested more than {_MAX_PARTIAL_DEPTH} deep at {{{{> {partial.key}}}}}"
            f" (line {partial.line}, column {partial.column})"
        )
    if partial.indent:
        included = compile_template(_indent(included.source, partial.indent))
    included._run(stack, out, partials, depth + 1)


def _indent(source: str, indent: str) -> str:
    lines = source.splitlines(keepends=True)
    return "".join(indent + line for line in lines)


def _missing(node: tuple[Any, ...], nested: bool) -> MissingVariablesError:
    where = f"line {node[4]}, column {node[5]}"
    return MissingVariablesError(
        [node[3]], detail=f"{'inside a section, ' if nested else ''}{where}"
    )


def _truthy(value: Any, name: str) -> bool:
    if value is None or value is False or value is True:
        return value is True
    kind = type(value)
    if kind is str or kind is list or kind is tuple:
        return len(value) > 0
    if kind is int:
        return value != 0
    if kind is float:
        return value != 0 and value == value
    if kind is dict or isinstance(value, Mapping):
        return True
    if callable(value):
        raise _lambda(name)
    return bool(value)


def _lambda(name: str) -> TemplateRenderError:
    return TemplateRenderError(
        f"the value of {name!r} is a function: lambdas are not supported in templates"
    )


def format_value(value: Any, name: str = "value") -> str:
    """``value`` as a template inserts it (see the module docstring)."""
    if isinstance(value, str):
        return str.__str__(value)
    if value is None:
        return ""
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, (list, tuple, Mapping)):
        return _json(value, name)
    if callable(value):
        raise _lambda(name)
    return str(value)


def _json(value: Any, name: str) -> str:
    """Compact JSON as JavaScript's ``JSON.stringify`` writes it."""
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        return _number(value) if math.isfinite(value) else "null"
    if isinstance(value, Mapping):
        items = (f"{_json(str(k), name)}:{_json(v, name)}" for k, v in value.items())
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_json(v, name) for v in value) + "]"
    if callable(value):
        raise _lambda(name)
    return _json(str(value), name)


def _number(value: float) -> str:
    """A float as JavaScript's ``String(number)`` prints it."""
    if value != value:
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0:
        return "0"
    text = repr(value)
    sign = "-" if text[0] == "-" else ""
    mantissa, _, exp = text.lstrip("-").partition("e")
    whole, _, fraction = mantissa.partition(".")
    e = int(exp) if exp else 0
    if whole == "0":  # 0.000123: the point sits before the leading zeros of the fraction
        n = e - (len(fraction) - len(fraction.lstrip("0")))
        digits = fraction.lstrip("0")
    else:
        n = len(whole) + e
        digits = whole + fraction
    digits = digits.rstrip("0") or "0"
    k = len(digits)
    if k <= n <= 21:
        body = digits + "0" * (n - k)
    elif 0 < n <= 21:
        body = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        body = "0." + "0" * -n + digits
    else:
        power = n - 1
        body = digits[0] + ("." + digits[1:] if k > 1 else "")
        body += ("e+" if power >= 0 else "e-") + str(abs(power))
    return sign + body


_RUNTIME.update(fmt=format_value, include=_include, missing=_missing)


@lru_cache(maxsize=1024)
def compile_template(source: str) -> Template:
    """Parse ``source`` (memoised: the same text is parsed once)."""
    return Template(source)


def variables(source: str) -> list[str]:
    """The variable names ``source`` needs, in order of first use."""
    return list(compile_template(source).variables)


def render(
    source: str,
    values: Mapping[str, Any] | None = None,
    partials: Mapping[str, Template] | None = None,
    *,
    strict: bool = True,
) -> str:
    """Parse (memoised) and render ``source``."""
    return compile_template(source).render(values, partials, strict=strict)
