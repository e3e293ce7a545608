"""A prompt's content compiled once, and rendered: messages with placeholders, text, the
older system + user shape, and the declared inputs checked at render time.

:class:`Content` is built once per :class:`promptops.sdk.Prompt` (its templates come from
the memoised ``compile_template``, so nothing is parsed per render) and holds what a render
needs: the message parts in order, the names a render requires, the names it accepts, the
declared inputs and the placeholders. The rules (held by the language-neutral cases in
``promptops/contract/fixtures/chat_render/``):

- **Variables and placeholders share one namespace**: ``render(name="Ada", history=[...])``.
- **Inferred variables** (those the templates use, :attr:`promptops.templating.Template.
  variables`) are required, whatever their type, unless ``inputs`` declares them optional.
- **Declared inputs** (``{"name", "type", "required", "description"}``): a required one
  not given is a :class:`MissingVariablesError` (even when no template uses it); a value of
  another type is an :class:`InputTypeError` naming the variable and both types (``string``:
  a str; ``number``: an int or float, not a bool; ``boolean``: a bool; ``list``: a list or
  tuple; ``object``: a mapping). An optional one left out (or given None) renders as
  ``null``: ``{{x}}`` inserts nothing, ``{{#x}}`` hides, ``{{^x}}`` shows. A required one
  given None is a type error.
- **Placeholders** (``{"type": "placeholder", "name"}`` in the messages) are filled with a
  list (or tuple) of messages, inserted as given (shallow copies, never templated). A
  placeholder not given inserts nothing, unless ``inputs`` declares it required: then it is
  a :class:`MissingVariablesError`. A message is a mapping with a ``role`` among
  ``system``, ``developer``, ``user``, ``assistant`` and ``tool``, and a ``content`` string;
  an ``assistant`` message may instead have ``content`` None (or absent) and ``tool_calls``,
  a non-empty list of ``{"id": str, "type": "function", "function": {"name": str,
  "arguments": str}}`` (``type`` optional); a ``tool`` message needs a ``tool_call_id``
  string; ``name``, when present, is a string. Other keys pass through untouched. Anything
  else is a :class:`PlaceholderValueError` naming the placeholder (and the message's index).
- **Strict** rendering (the default) refuses values for names that are neither used by a
  template, nor declared, nor a placeholder (:class:`UnknownVariablesError`).
- Partials (``{{> slug}}``) are resolved by the server; one left in the content raises
  :class:`promptops.errors.UnresolvedPartialError` at render.
- Every role message of a chat prompt is rendered, even when its content renders empty;
  the older shape keeps its rule (no system message when the system prompt is empty).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from promptops.errors import (
    InputTypeError,
    MissingVariablesError,
    PlaceholderValueError,
    UnknownVariablesError,
)
from promptops.templating import Template, compile_template

__all__ = ["INPUT_TYPES", "LEGACY", "ROLES", "TEXT", "Content", "compile_content", "json_type"]

ROLES = ("system", "developer", "user", "assistant", "tool")
INPUT_TYPES = ("string", "number", "boolean", "list", "object")
LEGACY, CHAT, TEXT = "legacy", "chat", "text"  # Content.kind
_ABSENT = object()
_ROLES = frozenset(ROLES)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, list | tuple)


def _is_object(value: Any) -> bool:
    return isinstance(value, Mapping)


_IS = {
    "string": _is_string,
    "number": _is_number,
    "boolean": _is_boolean,
    "list": _is_list,
    "object": _is_object,
}


def json_type(value: Any) -> str:
    """The JSON type name of ``value`` (``null``, ``boolean``, ``number``, ``string``,
    ``list``, ``object``), or its Python type name when it has none."""
    if value is None:
        return "null"
    for name in ("boolean", "number", "string", "list", "object"):
        if _IS[name](value):
            return name
    return type(value).__name__


class Content:
    """A prompt's content, compiled: see the module docstring.

    ``kind``: ``"legacy"`` (one optional system message and one user message, nothing else:
    the older shape), ``"chat"`` or ``"text"``. ``system``/``user``: the older shape's
    templates (for a text prompt, ``user`` is the text and ``system`` is empty; for other
    chat prompts both are empty). ``parts``: per message, a placeholder's name or a
    ``(role, template, extras)`` triple.
    """

    __slots__ = (
        "decls",
        "kind",
        "known",
        "messages",
        "names",
        "optional",
        "parts",
        "placeholders",
        "plain",
        "required",
        "system",
        "system_needed",
        "system_prompt",
        "user",
        "user_needed",
        "user_template",
        "variables",
    )

    def __init__(
        self,
        kind: str,
        messages: tuple[dict[str, Any], ...],
        system_prompt: str,
        user_template: str,
        text: str | None,
        inputs: tuple[dict[str, Any], ...],
    ) -> None:
        self.kind = kind
        self.messages = messages
        self.system_prompt = system_prompt
        self.user_template = user_template
        parts: list[Any] = []
        templates: list[Template] = []
        if kind == TEXT:
            assert text is not None
            self.system, self.user = compile_template(""), _compile(text, "text")
            templates = [self.user]
        elif kind == LEGACY:
            self.system = _compile(system_prompt, "system_prompt")
            self.user = _compile(user_template, "user_template")
            templates = [self.system, self.user]
        else:
            self.system = self.user = compile_template("")
            for i, message in enumerate(messages):
                if "type" in message:
                    parts.append(message["name"])
                    continue
                template = _compile(message["content"], f"messages.{i}.content")
                extras = {k: message[k] for k in ("name", "tool_call_id") if k in message}
                parts.append((message["role"], template, extras))
                templates.append(template)
        self.parts: tuple[Any, ...] = tuple(parts)
        self.placeholders: tuple[str, ...] = tuple(p for p in parts if type(p) is str)
        _placeholders_apart(self.placeholders, templates, inputs)
        self.variables: tuple[str, ...] = tuple(
            dict.fromkeys(name for t in templates for name in t.variables)
        )
        self.decls: tuple[tuple[str, str, bool], ...] = tuple(
            (d["name"], d.get("type", "string"), d.get("required", True)) for d in inputs
        )
        optional = {name for name, _, required in self.decls if not required}
        self.optional: tuple[str, ...] = tuple(n for n, _, r in self.decls if not r)
        declared_required = [n for n, _, r in self.decls if r]
        self.required: tuple[str, ...] = tuple(
            dict.fromkeys([n for n in self.variables if n not in optional] + declared_required)
        )
        # render_text: a text prompt's are render()'s; the older shape's, its user template's
        self.user_needed = (
            self.required
            if kind == TEXT
            else tuple(n for n in self.user.variables if n not in optional)
        )
        self.system_needed = tuple(n for n in self.system.variables if n not in optional)
        declared = [n for n, _, _ in self.decls]
        self.names: frozenset[str] = frozenset([*self.variables, *self.placeholders, *declared])
        self.known: frozenset[str] = frozenset(
            [*(n for t in templates for n in t.names), *self.placeholders, *declared]
        )
        # No declared inputs and no placeholders: the exact variables need no other check.
        self.plain = not self.decls and not self.placeholders

    def check(self, given: dict[str, Any], strict: bool, needed: tuple[str, ...]) -> dict[str, Any]:
        """``given`` (a dict the caller owns) checked, with the optional declared inputs
        not given set to None."""
        missing = [name for name in needed if name not in given]
        if missing:
            raise MissingVariablesError(missing)
        if strict and not self.known.issuperset(given):
            raise UnknownVariablesError(sorted(name for name in given if name not in self.known))
        for name, expected, required in self.decls:
            value = given.get(name, _ABSENT)
            if value is _ABSENT or (value is None and not required):
                continue
            if not _IS[expected](value):
                raise InputTypeError(name, expected, json_type(value))
        for name in self.placeholders:
            value = given.get(name, _ABSENT)
            if value is not _ABSENT and not (value is None and name in self.optional):
                check_messages(name, value)
        for name in self.optional:
            if given.get(name, _ABSENT) is _ABSENT:
                given[name] = None
        return given

    def render_messages(self, values: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The chat messages (``values`` already checked)."""
        out: list[dict[str, Any]] = []
        for part in self.parts:
            if type(part) is str:
                filled = values.get(part)
                if filled:
                    out.extend(dict(message) for message in filled)
                continue
            role, template, extras = part
            message = {"role": role, "content": template.render(values, strict=False)}
            if extras:
                message.update(extras)
            out.append(message)
        return out


def _placeholders_apart(
    placeholders: tuple[str, ...], templates: list[Template], inputs: tuple[dict[str, Any], ...]
) -> None:
    """A placeholder is filled with messages: no template uses its name as a variable, and
    an input declared with its name is a list (the server's rule)."""
    if not placeholders:
        return
    for template in templates:
        used = set(placeholders).intersection(template.variables)
        if used:
            raise ValueError(
                f"{min(used)!r} is a placeholder (a list of messages), not a variable of a template"
            )
    for decl in inputs:
        if decl["name"] in placeholders and decl.get("type", "string") != "list":
            raise ValueError(f"{decl['name']!r} is a placeholder: declare it as a list")


def check_messages(name: str, value: Any) -> None:
    """Raise :class:`PlaceholderValueError` unless ``value`` is a list of messages."""
    if not isinstance(value, list | tuple):
        raise PlaceholderValueError(name, f"must be a list of messages, got {json_type(value)}")
    for i, message in enumerate(value):
        reason = _message_problem(message)
        if reason is not None:
            raise PlaceholderValueError(name, reason, index=i)


def _message_problem(message: Any) -> str | None:
    if not isinstance(message, Mapping):
        return f"a message is an object, got {json_type(message)}"
    role = message.get("role")
    if role not in _ROLES:
        return f"'role' must be one of {', '.join(ROLES)}, got {role!r}"
    content = message.get("content")
    if role == "assistant" and "tool_calls" in message:
        problem = _tool_calls_problem(message["tool_calls"])
        if problem is not None:
            return problem
        if content is not None and not isinstance(content, str):
            return f"'content' must be a string or null, got {json_type(content)}"
    elif not isinstance(content, str):
        return f"'content' must be a string, got {json_type(content)}"
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        return "a tool message needs a 'tool_call_id' string"
    if "name" in message and not isinstance(message["name"], str):
        return f"'name' must be a string, got {json_type(message['name'])}"
    return None


def _tool_calls_problem(calls: Any) -> str | None:
    if not isinstance(calls, list | tuple) or not calls:
        return "'tool_calls' must be a non-empty list"
    for j, call in enumerate(calls):
        function = call.get("function") if isinstance(call, Mapping) else None
        if (
            not isinstance(call, Mapping)
            or not isinstance(call.get("id"), str)
            or call.get("type", "function") != "function"
            or not isinstance(function, Mapping)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            return (
                f"tool_calls[{j}] must be {{'id': str, 'type': 'function', 'function':"
                " {'name': str, 'arguments': str}}"
            )
    return None


# -- compiling ------------------------------------------------------------------------------


def compile_content(
    type_: str,
    messages: Any,
    text: Any,
    system_prompt: Any,
    user_template: Any,
    inputs: Any,
) -> Content:
    """Check and compile a prompt's content. ``messages`` win over the older
    ``system_prompt``/``user_template`` (which are then derived from them, and must agree
    when given); with neither, the older fields become the messages.

    Raises ValueError or TypeError naming the field (for a template that does not parse, a
    ValueError caused by the :class:`promptops.errors.TemplateSyntaxError`)."""
    if type_ not in (CHAT, TEXT):
        raise ValueError(f"'type' must be 'chat' or 'text', got {type_!r}")
    _need_str(system_prompt, "system_prompt")
    _need_str(user_template, "user_template")
    declared = _inputs(inputs)
    messages = tuple(_objects(messages, "messages"))
    if text is not None or type_ == TEXT:
        if text is None:
            raise ValueError("'text': a text prompt needs its text")
        _need_str(text, "text")
        if messages or system_prompt or user_template:
            raise ValueError("a text prompt has 'text', not messages (nor the older fields)")
        return Content(TEXT, (), "", "", text, declared)
    if not messages:
        system = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages = (*system, {"role": "user", "content": user_template})
        return Content(LEGACY, messages, system_prompt, user_template, None, declared)
    _check_messages(messages)
    legacy = legacy_shape(messages)
    given = (system_prompt, user_template)
    if legacy is None:
        if any(given):
            raise ValueError(
                "'messages' and the older 'system_prompt'/'user_template': give one of them"
            )
        return Content(CHAT, messages, "", "", None, declared)
    if any(given) and given != legacy:
        raise ValueError("'system_prompt'/'user_template' do not match 'messages'")
    return Content(LEGACY, messages, legacy[0], legacy[1], None, declared)


def legacy_shape(messages: tuple[dict[str, Any], ...]) -> tuple[str, str] | None:
    """``(system_prompt, user_template)`` when ``messages`` are one optional system message
    then one user message with nothing but role and content (the server's rule), else None."""
    if not messages or len(messages) > 2:
        return None
    if not all(message.keys() == {"role", "content"} for message in messages):
        return None
    roles = [message["role"] for message in messages]
    if roles == ["user"]:
        return "", messages[0]["content"]
    if roles == ["system", "user"]:
        return messages[0]["content"], messages[1]["content"]
    return None


def _check_messages(messages: tuple[dict[str, Any], ...]) -> None:
    seen: set[str] = set()
    for i, message in enumerate(messages):
        if "type" in message:
            name = message.get("name")
            if message["type"] != "placeholder":
                raise ValueError(f"'messages.{i}.type' must be 'placeholder'")
            if not isinstance(name, str) or not name:
                raise ValueError(f"'messages.{i}.name' must be a non-empty string")
            if name in seen:
                raise ValueError(f"'messages.{i}.name': placeholder {name!r} appears twice")
            seen.add(name)
            continue
        if message.get("role") not in _ROLES:
            raise ValueError(f"'messages.{i}.role' must be one of {', '.join(ROLES)}")
        _need_str(message.get("content"), f"messages.{i}.content")
        _compile(message["content"], f"messages.{i}.content")  # memoised: parsed once
        for key in ("name", "tool_call_id"):
            if key in message:
                _need_str(message[key], f"messages.{i}.{key}")


def _inputs(inputs: Any) -> tuple[dict[str, Any], ...]:
    declared = tuple(_objects(inputs, "inputs"))
    names: set[str] = set()
    for i, decl in enumerate(declared):
        name = decl.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError(f"'inputs.{i}.name' must be a non-empty string")
        if name in names:
            raise ValueError(f"'inputs.{i}.name': {name!r} is declared twice")
        names.add(name)
        if decl.get("type", "string") not in _IS:
            raise ValueError(f"'inputs.{i}.type' must be one of {', '.join(INPUT_TYPES)}")
        if not isinstance(decl.get("required", True), bool):
            raise ValueError(f"'inputs.{i}.required' must be a boolean")
    return declared


def _objects(value: Any, name: str) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list | tuple) or not all(isinstance(v, dict) for v in value):
        raise TypeError(f"{name!r} is not a list of objects")
    return list(value)


def _need_str(value: Any, name: str) -> None:
    if not isinstance(value, str):
        raise TypeError(f"{name!r} is not a string")


def _compile(source: str, name: str) -> Template:
    try:
        return compile_template(source)
    except ValueError as exc:  # TemplateSyntaxError: say which field
        raise ValueError(f"{name!r}: {exc}") from exc
