"""The provider-neutral side of a ``run()`` call, before a provider maps it to its own form.

A prompt version carries, besides its messages, ``tools``, ``tool_choice``,
``response_format`` and ``params`` (``top_p``, ``stop``, ``seed``, ``presence_penalty``,
``frequency_penalty``, ``reasoning_effort``), in the contract's form (the OpenAI-like one of
``promptops/contract/schemas/prompt.json``). :func:`call_spec` gathers them into a
:class:`CallSpec`; a keyword argument of ``run()`` with one of these names replaces the
version's value, in the same neutral form, and ``None`` leaves it out of the call.

Rendered messages are dicts ``{"role": system|developer|user|assistant|tool, "content": str,
"name"?, "tool_call_id"?, "tool_calls"?}``. An assistant message's ``tool_calls`` may be in
the OpenAI form (``{"id", "type": "function", "function": {"name", "arguments": JSON
text}}``), the flat form ``{"id", "name", "arguments": {...}}``, or
:class:`~promptops.sdk.run_result.ToolCall` objects (what ``RunResult.tool_calls`` gives):
:func:`assistant_tool_calls` reads all three.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promptops.sdk.errors import ConfigurationError, InvalidOutputError
from promptops.sdk.run_result import ToolCall

if TYPE_CHECKING:
    from promptops.sdk.prompt import Prompt

__all__ = [
    "CALL_FIELDS",
    "PARAMS",
    "CallSpec",
    "assistant_tool_calls",
    "call_spec",
    "parse_arguments",
]

PARAMS = ("top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort")
CALL_FIELDS = frozenset(("tools", "tool_choice", "response_format", *PARAMS))
ROLES = frozenset(("system", "developer", "user", "assistant", "tool"))
_FORMATS = ("text", "json_object", "json_schema")


@dataclass(frozen=True, slots=True)
class CallSpec:
    """What a call asks beyond messages, model, temperature and max tokens (neutral form).

    ``tools`` are ``{"type": "function", "function": {name, description?, parameters,
    strict?}}``; ``tool_choice`` "auto" | "none" | "required" | a function name (None when
    there are no tools and the choice would change nothing); ``response_format`` as in the
    contract, None for plain text; ``params`` the set ones among :data:`PARAMS`.
    """

    tools: list[dict[str, Any]] | None = None
    tool_choice: Any = None
    response_format: dict[str, Any] | None = None
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def json_format(self) -> str | None:
        """ "json_object" or "json_schema" when the output must be JSON, else None."""
        fmt = self.response_format
        kind = fmt.get("type") if fmt else None
        return kind if kind in ("json_object", "json_schema") else None

    @property
    def schema(self) -> dict[str, Any] | None:
        """The JSON Schema of a ``json_schema`` response format."""
        if self.json_format != "json_schema":
            return None
        assert self.response_format is not None
        schema: dict[str, Any] = self.response_format["json_schema"]["schema"]
        return schema


EMPTY = CallSpec()


def call_spec(prompt: Prompt, overrides: dict[str, Any]) -> CallSpec:
    """The call's :class:`CallSpec` from the prompt version, with ``run()``'s keyword
    arguments of the same names (popped from ``overrides``) replacing its values."""
    if (
        prompt.tools is None
        and prompt.tool_choice is None
        and prompt.response_format is None
        and not prompt.params
        and (not overrides or CALL_FIELDS.isdisjoint(overrides))
    ):
        return EMPTY  # the usual case, kept cheap: run() calls this every time
    values: dict[str, Any] = {
        "tools": prompt.tools,
        "tool_choice": prompt.tool_choice,
        "response_format": prompt.response_format,
        **{name: prompt.params.get(name) for name in PARAMS},
    }
    given: frozenset[str] = frozenset()
    if overrides and not CALL_FIELDS.isdisjoint(overrides):
        given = CALL_FIELDS.intersection(overrides)
        for name in given:
            values[name] = overrides.pop(name)
    params = {name: values[name] for name in PARAMS if values[name] is not None}
    if isinstance(params.get("stop"), str):  # OpenAI also takes one string
        params["stop"] = [params["stop"]]
    tools = _tools(values["tools"])
    fmt = _response_format(values["response_format"])
    choice = values["tool_choice"]
    if tools is None and "tools" in given and "tool_choice" not in given:
        choice = None  # the call left the tools out: the version's choice goes with them
    choice = _tool_choice(choice, tools)
    if tools is None and choice is None and fmt is None and not params:
        return EMPTY
    return CallSpec(tools, choice, fmt, params)


def _tools(tools: Any) -> list[dict[str, Any]] | None:
    if tools is None:
        return None
    if isinstance(tools, Mapping | str) or not isinstance(tools, Sequence):
        raise ConfigurationError(f"tools must be a list of tools, not {type(tools).__name__}")
    out = []
    for i, tool in enumerate(tools):
        function = tool.get("function") if isinstance(tool, Mapping) else None
        if (
            not isinstance(tool, Mapping)
            or tool.get("type", "function") != "function"
            or not isinstance(function, Mapping)
            or not isinstance(function.get("name"), str)
        ):
            raise ConfigurationError(
                f'tools[{i}]: expected {{"type": "function", "function": {{"name": ...,'
                f' "parameters": {{...}}}}}}, got {tool!r}'
            )
        parameters = function.get("parameters")
        if parameters is not None and not isinstance(parameters, Mapping):
            raise ConfigurationError(f"tools[{i}].function.parameters must be a JSON Schema")
        out.append(dict(tool))
    return out or None


def _tool_choice(choice: Any, tools: list[dict[str, Any]] | None) -> Any:
    if choice is None:
        return None
    if not isinstance(choice, str):
        raise ConfigurationError(
            f"tool_choice must be 'auto', 'none', 'required' or a function name, not {choice!r}"
        )
    names = [tool["function"]["name"] for tool in tools or ()]
    if choice in ("auto", "none"):
        return choice if names else None  # without tools both mean what no choice means
    if choice == "required":
        if not names:
            raise ConfigurationError("tool_choice: 'required' needs tools")
        return choice
    if choice not in names:
        raise ConfigurationError(f"tool_choice: {choice!r} is not one of the tools")
    return choice


def _response_format(fmt: Any) -> dict[str, Any] | None:
    if fmt is None:
        return None
    kind = fmt.get("type") if isinstance(fmt, Mapping) else None
    if kind not in _FORMATS:
        raise ConfigurationError(
            f"response_format must be {{'type': 'text' | 'json_object' | 'json_schema'}},"
            f" not {fmt!r}"
        )
    if kind == "text":
        return None
    if kind == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, Mapping) or not isinstance(spec.get("schema"), Mapping):
            raise ConfigurationError(
                "response_format.json_schema must be {name, description?, schema, strict}"
            )
    return dict(fmt)


# -- messages ------------------------------------------------------------------------------


def role_of(message: Mapping[str, Any], index: int) -> str:
    role = message.get("role")
    if role not in ROLES:
        raise ConfigurationError(f"messages[{index}].role: unknown role {role!r}")
    return str(role)


def assistant_tool_calls(message: Mapping[str, Any], index: int) -> list[ToolCall]:
    """The tool calls of a rendered assistant message, as :class:`ToolCall` s."""
    calls = message.get("tool_calls")
    if not calls:
        return []
    out = []
    for j, call in enumerate(calls):
        where = f"messages[{index}].tool_calls[{j}]"
        if isinstance(call, ToolCall):
            out.append(call)
            continue
        if not isinstance(call, Mapping):
            raise ConfigurationError(f"{where}: expected an object, got {call!r}")
        function = call.get("function")
        source = function if isinstance(function, Mapping) else call
        name = source.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigurationError(f"{where}: no function name")
        arguments = source.get("arguments")
        if isinstance(arguments, str) or arguments is None:
            try:
                arguments = parse_arguments(arguments, f"{where}.arguments")
            except InvalidOutputError as exc:
                raise ConfigurationError(str(exc)) from None
        elif not isinstance(arguments, Mapping):
            raise ConfigurationError(f"{where}.arguments must be a JSON object")
        call_id = call.get("id")
        out.append(ToolCall(None if call_id is None else str(call_id), name, dict(arguments)))
    return out


def require_ids(calls: list[ToolCall], index: int, title: str) -> None:
    for j, call in enumerate(calls):
        if not call.id:
            raise ConfigurationError(
                f"messages[{index}].tool_calls[{j}].id: {title} needs the id of each call"
            )


def text_content(message: Mapping[str, Any], index: int) -> str:
    content = message.get("content")
    if content is None:
        return ""
    if not isinstance(content, str):
        raise ConfigurationError(
            f"messages[{index}].content must be text, not {type(content).__name__}"
        )
    return content


def parse_arguments(raw: str | None, field_name: str) -> dict[str, Any]:
    """A tool call's arguments (JSON text) as a dict; "" or None is ``{}``.
    :class:`InvalidOutputError` when the text is not a JSON object."""
    if raw is None or not raw.strip():
        return {}
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise InvalidOutputError(field_name, f"not valid JSON ({exc})", raw) from None
    if not isinstance(value, dict):
        raise InvalidOutputError(field_name, "not a JSON object", raw)
    return value


def arguments_json(arguments: Mapping[str, Any]) -> str:
    return json.dumps(arguments, ensure_ascii=False, separators=(",", ":"))
