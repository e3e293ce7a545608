"""Anthropic Messages through the official ``anthropic`` library (``promptops[anthropic]``).

A default client is ``anthropic.Anthropic()`` / ``AsyncAnthropic()``: it reads
``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` itself. The rendered system message becomes
the ``system`` parameter. The Messages API requires ``max_tokens``: a version without one
sends :data:`DEFAULT_MAX_TOKENS`. The version's temperature is sent where the installed
library has a ``temperature`` parameter; anthropic 2.x has none, so it is left out, and a
``temperature=`` passed to ``run()`` explicitly goes in ``extra_body``. Streams are the raw
event stream (``messages.create(stream=True)``): the caller receives the library's events.

Mapping of the version's content (checked against anthropic 2.15's own types):

- leading system and developer messages → ``system`` (a string, or text blocks when there
  are several); a later one → a ``{"role": "system"}`` message where the installed library
  has them (``anthropic.types.SystemMessageParam``), else an error;
- an assistant message's tool calls → ``tool_use`` blocks; ``tool`` messages → a user
  message of ``tool_result`` blocks (consecutive ones share it); message ``name`` s cannot be
  expressed (error);
- tools → ``{name, description, input_schema, strict}``; ``tool_choice`` auto / required /
  none / a name → ``{"type": "auto" | "any" | "none" | "tool", "name"}``;
- ``response_format`` ``json_schema`` → ``output_config.format`` (structured outputs:
  ``{"type": "json_schema", "schema"}``; its ``name`` and ``description`` have no place);
  ``json_object`` has no equivalent (structured outputs need a schema): error;
- ``params``: ``stop`` → ``stop_sequences``; ``reasoning_effort`` low / medium / high →
  ``output_config.effort`` ("minimal" has no equivalent); ``top_p`` where the library has it
  (2.x has none); ``seed``, ``presence_penalty``, ``frequency_penalty`` do not exist: error.

Every error is an :class:`~promptops.sdk.errors.UnsupportedFieldError`, before any call.

Input tokens are ``input_tokens`` plus the cache-creation and cache-read input tokens (every
prompt token the call processed); the estimated cost prices them all at the input price.
"""

from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Mapping, Sequence
from typing import Any

from promptops.sdk.errors import ConfigurationError
from promptops.sdk.providers.base import Provider, to_json
from promptops.sdk.providers.spec import (
    CallSpec,
    assistant_tool_calls,
    parse_arguments,
    require_ids,
    role_of,
    text_content,
)
from promptops.sdk.run_result import ToolCall

_CHOICES = {"auto": "auto", "required": "any", "none": "none"}
_EFFORTS = ("low", "medium", "high")

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider"]

DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(Provider):
    name = "anthropic"
    title = "Anthropic"
    library = "anthropic"
    env_hint = "ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL)"

    _takes_temperature: bool | None = None
    _takes: dict[str, bool] | None = None

    def default_client(self, is_async: bool) -> Any:
        anthropic = self.import_library()
        return anthropic.AsyncAnthropic() if is_async else anthropic.Anthropic()

    def callable_client(self, client: Any, is_async: bool) -> Any:
        return self._client_with(
            client, is_async, "messages.create", "anthropic.Anthropic", "anthropic.AsyncAnthropic"
        )

    def build(
        self,
        messages: Sequence[Mapping[str, Any]],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        params: dict[str, Any],
        stream: bool,
        temperature_given: bool = False,
        spec: CallSpec | None = None,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": model,
            "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        }
        system, kwargs["messages"] = self._messages(messages)
        if system:
            kwargs["system"] = (
                system[0] if len(system) == 1 else [{"type": "text", "text": t} for t in system]
            )
        if spec is not None:
            self._map_spec(spec, kwargs)
        if params:
            kwargs.update(params)
        if temperature is not None:
            if self.takes_temperature():
                kwargs["temperature"] = temperature
            elif temperature_given:  # the caller asked for it: send it in the body
                extra = dict(kwargs.get("extra_body") or {})
                extra.setdefault("temperature", temperature)
                kwargs["extra_body"] = extra
        if stream:
            kwargs["stream"] = True
        return kwargs

    def _messages(
        self, messages: Sequence[Mapping[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        system: list[str] = []
        out: list[dict[str, Any]] = []
        results: list[dict[str, Any]] | None = None  # the open user message of tool results
        for i, message in enumerate(messages):
            role = role_of(message, i)
            content = text_content(message, i)
            if message.get("name") and role != "tool":
                raise self.unsupported(
                    f"messages[{i}].name", "the Messages API has no participant names"
                )
            if role in ("system", "developer"):
                if not out:
                    system.append(content)
                    continue
                if not self.has_type("SystemMessageParam"):
                    raise self.unsupported(
                        f"messages[{i}]",
                        "a system message after the conversation started (the installed"
                        " anthropic library has no system-role messages)",
                    )
                out.append({"role": "system", "content": content})
            elif role == "tool":
                call_id = message.get("tool_call_id")
                if not call_id:
                    raise ConfigurationError(
                        f"messages[{i}].tool_call_id: a tool message needs the id of the call"
                        " it answers"
                    )
                block = {"type": "tool_result", "tool_use_id": call_id, "content": content}
                if results is None:
                    results = [block]
                    out.append({"role": "user", "content": results})
                else:
                    results.append(block)
                continue
            elif role == "assistant" and message.get("tool_calls"):
                calls = assistant_tool_calls(message, i)
                require_ids(calls, i, "Anthropic")
                blocks: list[dict[str, Any]] = (
                    [{"type": "text", "text": content}] if content else []
                )
                blocks += [
                    {"type": "tool_use", "id": c.id, "name": c.name, "input": c.arguments}
                    for c in calls
                ]
                out.append({"role": "assistant", "content": blocks})
            else:
                out.append({"role": role, "content": content})
            results = None
        return system, out

    def _map_spec(self, spec: CallSpec, kwargs: dict[str, Any]) -> None:
        if spec.tools:
            kwargs["tools"] = [_tool(tool["function"]) for tool in spec.tools]
        choice = spec.tool_choice
        if choice is not None:
            if choice == "none" and not self.has_type("ToolChoiceNoneParam"):
                raise self.unsupported(
                    "tool_choice", "'none' (the installed anthropic library has no such choice)"
                )
            kind = _CHOICES.get(choice)
            kwargs["tool_choice"] = {"type": kind} if kind else {"type": "tool", "name": choice}
        output: dict[str, Any] = {}
        fmt = spec.json_format
        if fmt == "json_object":
            raise self.unsupported(
                "response_format",
                "'json_object' (structured outputs need a schema: use 'json_schema')",
            )
        if fmt == "json_schema":
            output["format"] = {"type": "json_schema", "schema": spec.schema}
        params = spec.params
        for name in ("seed", "presence_penalty", "frequency_penalty"):
            if name in params:
                raise self.unsupported(f"params.{name}", "the Messages API has no such parameter")
        if "top_p" in params:
            if not self.takes("top_p"):
                raise self.unsupported(
                    "params.top_p", "the installed anthropic library's messages.create has none"
                )
            kwargs["top_p"] = params["top_p"]
        if "stop" in params:
            kwargs["stop_sequences"] = list(params["stop"])
        effort = params.get("reasoning_effort")
        if effort is not None:
            if effort not in _EFFORTS:
                raise self.unsupported(
                    "params.reasoning_effort",
                    f"{effort!r} (output_config.effort takes {', '.join(_EFFORTS)})",
                )
            output["effort"] = effort
        if output:
            if not self.takes("output_config"):
                field = "response_format" if "format" in output else "params.reasoning_effort"
                raise self.unsupported(
                    field, "the installed anthropic library's messages.create has no output_config"
                )
            kwargs["output_config"] = output

    def takes(self, name: str) -> bool:
        """Whether the installed library's ``messages.create`` has parameter ``name``."""
        takes = self._takes
        if takes is None:
            try:
                create = self.import_library().resources.messages.Messages.create
                names = set(inspect.signature(create).parameters)
            except (AttributeError, TypeError, ValueError):  # pragma: no cover
                names = set()
            takes = self._takes = {n: n in names for n in ("top_p", "output_config")}
        return takes.get(name, False)

    def has_type(self, name: str) -> bool:
        """Whether the installed library has ``anthropic.types.<name>``."""
        return hasattr(getattr(self.import_library(), "types", None), name)

    def takes_temperature(self) -> bool:
        """Whether the installed library's ``messages.create`` has a ``temperature``
        parameter (anthropic 0.x / 1.x do; 2.x has none)."""
        takes = self._takes_temperature
        if takes is None:
            library = self.import_library()
            try:
                messages = importlib.import_module(f"{library.__name__}.resources.messages")
                takes = "temperature" in inspect.signature(messages.Messages.create).parameters
            except (ImportError, AttributeError, TypeError, ValueError):
                # Not found where 0.x-2.x keep it: judge by the major version (2.x has none).
                major = str(getattr(library, "__version__", "0")).split(".")[0]
                takes = not major.isdigit() or int(major) < 2
            self._takes_temperature = takes
        return takes

    def create(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any:
        return client.messages.create(**kwargs)

    async def acreate(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any:
        return await client.messages.create(**kwargs)

    # -- reading --------------------------------------------------------------------------

    def usage(self, response: Any) -> tuple[int | None, int | None]:
        usage = getattr(response, "usage", None)
        if usage is None:
            return None, None
        return _input_tokens(usage), usage.output_tokens

    def stream_usage(self, chunks: Sequence[Any]) -> tuple[int | None, int | None]:
        input_tokens = output_tokens = None
        for event in chunks:
            kind = event.type
            if kind == "message_start":
                input_tokens, output_tokens = self.usage(event.message)
            elif kind == "message_delta" and event.usage is not None:
                output_tokens = event.usage.output_tokens
                if event.usage.input_tokens is not None:
                    input_tokens = _input_tokens(event.usage)
        return input_tokens, output_tokens

    def text(self, response: Any) -> str | None:
        content = getattr(response, "content", None)
        if content is None:
            return None
        return "".join(block.text for block in content if block.type == "text")

    def chunk_text(self, chunk: Any) -> str:
        if chunk.type == "content_block_delta" and chunk.delta.type == "text_delta":
            return str(chunk.delta.text)
        return ""

    def tool_calls(self, response: Any) -> list[ToolCall]:
        content = getattr(response, "content", None) or ()
        return [
            ToolCall(block.id, block.name, dict(block.input or {}))
            for block in content
            if block.type == "tool_use"
        ]

    def stream_tool_calls(self, chunks: Sequence[Any]) -> list[ToolCall]:
        slots: dict[int, list[Any]] = {}  # index -> [id, name, input, partial json]
        for event in chunks:
            kind = event.type
            if kind == "content_block_start" and event.content_block.type == "tool_use":
                block = event.content_block
                slots[event.index] = [block.id, block.name, block.input, ""]
            elif kind == "content_block_delta" and event.delta.type == "input_json_delta":
                slot = slots.get(event.index)
                if slot is not None:
                    slot[3] += event.delta.partial_json
        calls = []
        for n, index in enumerate(sorted(slots)):
            call_id, name, start, partial = slots[index]
            arguments = (
                parse_arguments(partial, f"tool_calls[{n}].arguments")
                if partial
                else dict(start or {})
            )
            calls.append(ToolCall(call_id, name, arguments))
        return calls

    # -- JSON -----------------------------------------------------------------------------

    def merge(self, chunks: Sequence[Any]) -> dict[str, Any] | None:
        """A ``message`` object built from the events (text, thinking and tool input
        concatenated per block; ``stop_reason`` null if the stream was cut)."""
        message: dict[str, Any] | None = None
        blocks: dict[int, dict[str, Any]] = {}
        partial_json: dict[int, str] = {}
        for event in chunks:
            kind = event.type
            if kind == "message_start":
                message = to_json(event.message)
            elif kind == "content_block_start":
                blocks[event.index] = to_json(event.content_block)
            elif kind == "content_block_delta":
                block = blocks.setdefault(event.index, {"type": "text", "text": ""})
                delta = event.delta
                if delta.type == "text_delta":
                    block["text"] = block.get("text", "") + delta.text
                elif delta.type == "input_json_delta":
                    partial_json[event.index] = partial_json.get(event.index, "") + (
                        delta.partial_json
                    )
                elif delta.type == "thinking_delta":
                    block["thinking"] = block.get("thinking", "") + delta.thinking
                elif delta.type == "signature_delta":
                    block["signature"] = delta.signature
            elif kind == "message_delta" and message is not None:
                message.update(to_json(event.delta))
                usage = message.setdefault("usage", {})
                usage.update({k: v for k, v in to_json(event.usage).items() if v is not None})
        if message is None:
            return None
        for index, text in partial_json.items():
            try:
                blocks[index]["input"] = json.loads(text) if text else {}
            except ValueError:
                blocks[index]["input"] = text
        message["content"] = [blocks[i] for i in sorted(blocks)]
        return message


def _tool(function: Mapping[str, Any]) -> dict[str, Any]:
    tool: dict[str, Any] = {
        "name": function["name"],
        "input_schema": function.get("parameters") or {"type": "object", "properties": {}},
    }
    if function.get("description"):
        tool["description"] = function["description"]
    if function.get("strict") is not None:
        tool["strict"] = function["strict"]
    return tool


def _input_tokens(usage: Any) -> int | None:
    tokens = usage.input_tokens
    if tokens is None:
        return None
    return int(
        tokens
        + (getattr(usage, "cache_creation_input_tokens", None) or 0)
        + (getattr(usage, "cache_read_input_tokens", None) or 0)
    )
