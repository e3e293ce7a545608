"""Rendering: walking a node list, the functions generated from it, and value formatting."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from promptops.errors import (
    MissingVariablesError,
    TemplateRenderError,
    UnresolvedPartialError,
)
from promptops.templating._parse import (
    _INVERTED,
    _MAX_PARTIAL_DEPTH,
    _MISS,
    _PARTIAL_NODE,
    _SECTION,
    _VAR,
    Partial,
)

if TYPE_CHECKING:
    from promptops.templating import Template


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
        from promptops.templating import compile_template  # the package imports this module

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
