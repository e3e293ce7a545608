"""PromptLayer prompt blueprints ↔ PromptOps version content: the one translation.

A blueprint (``GetPromptTemplateResponse`` / ``PublishPromptTemplate`` of the ``promptlayer``
SDK) holds ``prompt_template`` (``{"type": "chat", "messages", "tools", "tool_choice"}`` or
``{"type": "completion", "content"}``), messages whose ``content`` is a list of blocks
(``{"type": "text", "text"}``), and the model in ``metadata.model``
(``{"provider", "name", "parameters"}``). PromptOps content (:mod:`promptops.contract.content`)
holds messages with one template each, placeholders, tools, the model, temperature,
max tokens, params, response format, declared inputs and metadata.

The mapping, both ways:

- chat ↔ chat, completion ↔ text; a ``placeholder`` message ↔ a placeholder;
- message content: the text blocks joined ↔ the template; templates go out as
  ``template_format: "jinja2"`` (``{{ name }}`` reads the same in Mustache and Jinja2);
  coming in, ``f-string`` templates (``{name}``, ``{{``/``}}`` for braces) become Mustache,
  ``jinja2`` ones must be Mustache already (no ``{% %}`` blocks or filters);
- ``metadata.model.name`` ↔ ``model``; ``provider`` ↔ ``metadata["provider"]``;
  ``parameters``: temperature, max_tokens, the params (top_p, stop, seed, penalties,
  reasoning_effort) and response_format ↔ their fields, any other parameter ↔
  ``metadata["promptlayer_parameters"]``; other ``metadata`` keys ↔ metadata keys;
  declared inputs ↔ ``metadata["promptops_inputs"]``; ``tags`` ↔ ``metadata["tags"]``;
- tools ``{"type": "function", "function"}`` ↔ tools; ``tool_choice`` ``"auto"`` /
  ``"none"`` / ``"required"`` / ``{"type": "function", "function": {"name"}}`` ↔ the choice.

What has no PromptOps equivalent (image or media blocks, assistant ``tool_calls`` or
``function_call`` in the template, ``functions``, built-in or MCP tools, tool variables) is
refused with an :class:`~promptops.errors.InvalidInputError` naming the blueprint field.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from promptops.errors import InvalidInputError

__all__ = [
    "KNOWN_PARAMS",
    "from_blueprint",
    "llm_kwargs",
    "provider_of",
    "to_blueprint",
]

KNOWN_PARAMS = (
    "top_p",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "reasoning_effort",
)
_ROLES = ("system", "developer", "user", "assistant", "tool")
_MODEL_PREFIXES = (
    (("gpt-", "o1", "o3", "o4", "chatgpt-", "text-"), "openai"),
    (("claude",), "anthropic"),
    (("gemini",), "google"),
)
_OUR_KEYS = ("provider", "promptlayer_parameters", "promptops_inputs", "tags")
_ANTHROPIC_MAX_TOKENS = 1024


def _bad(field: str, problem: str) -> InvalidInputError:
    return InvalidInputError(f"{field}: {problem}", field=field)


# ---- PromptOps → PromptLayer -----------------------------------------------------------


def provider_of(metadata: Mapping[str, Any], model: str) -> str:
    """The blueprint's provider: the version's ``metadata["provider"]``, else from the model
    name (``gpt-``/``o…`` openai, ``claude`` anthropic, ``gemini`` google), else openai."""
    given = metadata.get("provider")
    if isinstance(given, str) and given:
        return "google" if given == "gemini" else given
    for prefixes, name in _MODEL_PREFIXES:
        if model.startswith(prefixes):
            return name
    return "openai"


def _text_blocks(text: str) -> list[dict[str, Any]]:
    return [{"type": "text", "text": text}]


def _variables(template: str) -> list[str]:
    from promptops.templating import Template

    return list(Template(template).variables)


def _message_out(message: Mapping[str, Any]) -> dict[str, Any]:
    if message.get("type") == "placeholder":
        return {"role": "placeholder", "name": message["name"]}
    out: dict[str, Any] = {
        "role": message["role"],
        "content": _text_blocks(message["content"]),
        "input_variables": _variables(message["content"]),
        "template_format": "jinja2",
    }
    for key in ("name", "tool_call_id"):
        if message.get(key) is not None:
            out[key] = message[key]
    return out


def _tool_choice_out(choice: str | None) -> Any:
    if choice is None or choice in ("auto", "none", "required"):
        return choice
    return {"type": "function", "function": {"name": choice}}


def _parameters(version: Mapping[str, Any]) -> dict[str, Any]:
    metadata = version.get("metadata") or {}
    parameters: dict[str, Any] = dict(metadata.get("promptlayer_parameters") or {})
    parameters["temperature"] = version["temperature"]
    if version.get("max_tokens") is not None:
        parameters["max_tokens"] = version["max_tokens"]
    parameters.update(version.get("params") or {})
    if version.get("response_format") is not None:
        parameters["response_format"] = version["response_format"]
    return parameters


def to_blueprint(
    version: Mapping[str, Any],
    *,
    prompt_id: int,
    rendered: list[dict[str, Any]] | str | None = None,
    provider: str | None = None,
    model: str | None = None,
) -> dict[str, Any]:
    """A version payload (:class:`promptops.contract.prompts.VersionOut`, as JSON) as a
    blueprint with ``llm_kwargs`` for ``provider`` (default: :func:`provider_of`). With
    ``rendered`` (the messages or text rendered with the caller's variables) the
    templates are replaced by it, as PromptLayer does when given ``input_variables``."""
    metadata = dict(version.get("metadata") or {})
    model_name = model or version["model"]
    provider_name = provider or provider_of(metadata, model_name)
    variables = list(version.get("variables") or [])
    if version.get("text") is not None:
        text = rendered if isinstance(rendered, str) else version["text"]
        template: dict[str, Any] = {
            "type": "completion",
            "content": _text_blocks(text),
            "input_variables": variables,
            "template_format": "jinja2",
        }
        call_messages: list[dict[str, Any]] = [{"role": "user", "content": text}]
    else:
        messages = rendered if isinstance(rendered, list) else version["messages"]
        template = {
            "type": "chat",
            "messages": [_message_out(m) for m in messages],
            "input_variables": variables,
            "functions": [],
            "function_call": None,
            "tools": version.get("tools"),
            "tool_choice": _tool_choice_out(version.get("tool_choice")),
        }
        call_messages = [m for m in messages if m.get("type") != "placeholder"]
    out_meta = {k: v for k, v in metadata.items() if k not in _OUR_KEYS}
    if version.get("inputs"):
        out_meta["promptops_inputs"] = version["inputs"]
    parameters = _parameters(version)
    out_meta["model"] = {"provider": provider_name, "name": model_name, "parameters": parameters}
    tags = metadata.get("tags")
    return {
        "id": prompt_id,
        "prompt_name": version["slug"],
        "tags": list(tags) if isinstance(tags, list) else [],
        "version": version["version"],
        "prompt_template": template,
        "commit_message": version.get("commit_message"),
        "metadata": out_meta,
        "llm_kwargs": llm_kwargs(
            provider_name,
            model_name,
            call_messages,
            parameters,
            tools=version.get("tools"),
            tool_choice=version.get("tool_choice"),
        ),
        "snippets": list(version.get("snippets") or []),
    }


def llm_kwargs(
    provider: str,
    model: str,
    messages: Sequence[Mapping[str, Any]],
    parameters: Mapping[str, Any],
    *,
    tools: list[dict[str, Any]] | None = None,
    tool_choice: str | None = None,
) -> dict[str, Any] | None:
    """The keyword arguments the SDK passes to the provider's client (``openai``: chat
    completions; ``anthropic``: messages); None for other providers (the SDK's ``run``
    then refuses the prompt, as PromptLayer does without model parameters)."""
    extra = {k: v for k, v in parameters.items() if k != "response_format"}
    if provider == "openai":
        kwargs: dict[str, Any] = {"model": model, "messages": [_openai(m) for m in messages]}
        kwargs.update(extra)
        if parameters.get("response_format") is not None:
            kwargs["response_format"] = parameters["response_format"]
        if tools:
            kwargs["tools"] = tools
            if tool_choice is not None:
                kwargs["tool_choice"] = _tool_choice_out(tool_choice)
        return kwargs
    if provider == "anthropic":
        system = [m["content"] for m in messages if m["role"] in ("system", "developer")]
        chat = [_anthropic(m) for m in messages if m["role"] not in ("system", "developer")]
        kwargs = {"model": model, "messages": chat}
        kwargs["max_tokens"] = extra.get("max_tokens") or _ANTHROPIC_MAX_TOKENS
        if extra.get("stop"):
            kwargs["stop_sequences"] = extra["stop"]
        # In the body, not as arguments: newer anthropic libraries dropped temperature and
        # top_p from messages.create, every version passes extra_body through.
        sampling = {k: extra[k] for k in ("temperature", "top_p") if extra.get(k) is not None}
        if sampling:
            kwargs["extra_body"] = sampling
        if system:
            kwargs["system"] = "\n\n".join(system)
        if tools:
            kwargs["tools"] = [
                {
                    "name": t["function"]["name"],
                    "description": t["function"].get("description") or "",
                    "input_schema": t["function"].get("parameters")
                    or {"type": "object", "properties": {}},
                }
                for t in tools
            ]
            if tool_choice == "required":
                kwargs["tool_choice"] = {"type": "any"}
            elif tool_choice in ("auto", "none"):
                kwargs["tool_choice"] = {"type": tool_choice}
            elif tool_choice is not None:
                kwargs["tool_choice"] = {"type": "tool", "name": tool_choice}
        return kwargs
    return None


def _openai(message: Mapping[str, Any]) -> dict[str, Any]:
    out = {"role": message["role"], "content": message.get("content")}
    for key in ("name", "tool_call_id", "tool_calls"):
        if message.get(key) is not None:
            out[key] = message[key]
    return out


def _anthropic(message: Mapping[str, Any]) -> dict[str, Any]:
    if message["role"] == "tool":
        return {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": message.get("tool_call_id"),
                    "content": message.get("content") or "",
                }
            ],
        }
    return {"role": message["role"], "content": message.get("content") or ""}


# ---- PromptLayer → PromptOps -----------------------------------------------------------


def from_blueprint(blueprint: Mapping[str, Any], field: str = "prompt_version") -> dict[str, Any]:
    """A published blueprint (``prompt_template``, ``metadata``, ``commit_message``,
    ``tags``) as the fields of :class:`promptops.contract.content.VersionCreate` (which
    the caller still validates). Raises :class:`InvalidInputError` naming the field of
    anything PromptOps cannot hold."""
    template = blueprint.get("prompt_template")
    where = f"{field}.prompt_template"
    if not isinstance(template, Mapping):
        raise _bad(where, "required: the prompt template (type chat or completion)")
    metadata = blueprint.get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise _bad(f"{field}.metadata", "must be an object")
    model = metadata.get("model")
    if not isinstance(model, Mapping) or not isinstance(model.get("name"), str):
        raise _bad(
            f"{field}.metadata.model",
            "required: {provider, name, parameters} (PromptOps versions name their model)",
        )
    fields: dict[str, Any] = {"model": model["name"]}
    kind = template.get("type")
    if kind == "chat":
        _chat_in(template, where, fields)
    elif kind == "completion":
        for name in ("tools", "tool_choice"):
            if template.get(name):
                raise _bad(f"{where}.{name}", "only chat templates have tools")
        fields["text"] = _content_in(
            template.get("content"), template.get("template_format"), f"{where}.content"
        )
    else:
        raise _bad(f"{where}.type", "must be 'chat' or 'completion'")
    ours = {k: v for k, v in metadata.items() if k not in ("model", "promptops_inputs")}
    if isinstance(model.get("provider"), str) and model["provider"]:
        ours["provider"] = model["provider"]
    _parameters_in(
        model.get("parameters") or {}, f"{field}.metadata.model.parameters", fields, ours
    )
    if metadata.get("promptops_inputs"):
        fields["inputs"] = metadata["promptops_inputs"]
    tags = blueprint.get("tags")
    if tags:
        ours["tags"] = list(tags)
    if ours:
        fields["metadata"] = ours
    if blueprint.get("commit_message") is not None:
        fields["commit_message"] = blueprint["commit_message"]
    return fields


def _chat_in(template: Mapping[str, Any], where: str, fields: dict[str, Any]) -> None:
    for name in ("functions", "function_call"):
        if template.get(name):
            raise _bad(f"{where}.{name}", "functions are not supported; use tools")
    raw = template.get("messages")
    if not isinstance(raw, list) or not raw:
        raise _bad(f"{where}.messages", "required: a non-empty list of messages")
    messages = []
    for i, message in enumerate(raw):
        at = f"{where}.messages.{i}"
        if not isinstance(message, Mapping):
            raise _bad(at, "must be an object")
        role = message.get("role")
        if role == "placeholder":
            messages.append({"type": "placeholder", "name": message.get("name")})
            continue
        if role not in _ROLES:
            raise _bad(f"{at}.role", f"must be one of {', '.join(_ROLES)} or placeholder")
        for name in ("tool_calls", "function_call"):
            if message.get(name):
                raise _bad(f"{at}.{name}", "PromptOps templates hold no tool calls")
        out: dict[str, Any] = {
            "role": role,
            "content": _content_in(
                message.get("content"), message.get("template_format"), f"{at}.content"
            ),
        }
        for key in ("name", "tool_call_id"):
            if message.get(key) is not None:
                out[key] = message[key]
        messages.append(out)
    fields["messages"] = messages
    tools = template.get("tools")
    if tools:
        if not isinstance(tools, list):
            raise _bad(f"{where}.tools", "must be a list")
        for i, tool in enumerate(tools):
            if not isinstance(tool, Mapping) or tool.get("type") != "function":
                raise _bad(
                    f"{where}.tools.{i}.type",
                    "only function tools are supported (not built-in, MCP, registry or"
                    " variable tools)",
                )
        fields["tools"] = tools
    choice = template.get("tool_choice")
    if isinstance(choice, Mapping):
        function = choice.get("function")
        if choice.get("type") != "function" or not isinstance(function, Mapping):
            raise _bad(f"{where}.tool_choice", "expected {type: function, function: {name}}")
        fields["tool_choice"] = function.get("name")
    elif choice is not None:
        fields["tool_choice"] = choice


def _content_in(content: Any, template_format: Any, field: str) -> str:
    if isinstance(content, str):
        text = content
    elif isinstance(content, list):
        parts = []
        for j, block in enumerate(content):
            if not isinstance(block, Mapping) or block.get("type") != "text":
                kind = block.get("type") if isinstance(block, Mapping) else None
                raise _bad(
                    f"{field}.{j}.type",
                    f"only text blocks are supported, not {kind!r}",
                )
            if not isinstance(block.get("text"), str):
                raise _bad(f"{field}.{j}.text", "must be a string")
            parts.append(block["text"])
        text = "".join(parts)
    elif content is None:
        text = ""
    else:
        raise _bad(field, "must be a list of content blocks")
    if template_format in (None, "f-string"):
        return _from_fstring(text, field)
    if template_format == "jinja2":
        if "{%" in text or "{#" in text:
            raise _bad(field, "Jinja2 blocks ({% %}, {# #}) have no Mustache equivalent")
        return text
    raise _bad(field, "template_format must be 'f-string' or 'jinja2'")


def _from_fstring(text: str, field: str) -> str:
    """An f-string template (``{name}``; ``{{`` and ``}}`` are literal braces) in Mustache."""
    out = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise _bad(field, f"not a valid f-string template: {exc}") from None
    for literal, name, spec, conversion in parsed:
        out.append(literal)
        if name is None:
            continue
        if spec or conversion or not name.replace(".", "").replace("_", "a").isalnum():
            raise _bad(field, f"f-string field {{{name}}} is not a plain variable name")
        out.append("{{" + name + "}}")
    result = "".join(out)
    literal_text = "".join(literal for literal, *_ in parsed)
    if "{{" in literal_text or "}}" in literal_text:
        raise _bad(field, "two literal braces in a row cannot be written in a Mustache template")
    return result


def _parameters_in(
    parameters: Any, field: str, fields: dict[str, Any], metadata: dict[str, Any]
) -> None:
    if not isinstance(parameters, Mapping):
        raise _bad(field, "must be an object")
    params: dict[str, Any] = {}
    others: dict[str, Any] = {}
    for key, value in parameters.items():
        if key in ("temperature", "max_tokens", "response_format"):
            fields[key] = value
        elif key in KNOWN_PARAMS:
            params[key] = value
        else:
            others[key] = value
    if params:
        fields["params"] = params
    if others:
        metadata["promptlayer_parameters"] = others
