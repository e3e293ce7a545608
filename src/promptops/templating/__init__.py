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
  context; an unresolved partial is an :class:`UnresolvedPartialError`. :func:`expand`
  writes the partials' texts in place of their tags (what the server serves), so that the
  result renders as the template does with those partials (fixtures in
  ``promptops/contract/fixtures/resolve/``).
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

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from promptops.errors import MissingVariablesError, UnknownVariablesError, UnresolvedPartialError
from promptops.templating._expand import SpliceError, expand
from promptops.templating._parse import _MAX_GENERATED_TAGS, Partial, _Parser
from promptops.templating._render import _generate, _walk, format_value

__all__ = [
    "Partial",
    "SpliceError",
    "Template",
    "compile_template",
    "expand",
    "format_value",
    "render",
    "variables",
]


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
