"""OpenAI Chat Completions through the official ``openai`` library (``promptops[openai]``).

A default client is ``openai.OpenAI()`` / ``openai.AsyncOpenAI()``: it reads
``OPENAI_API_KEY``, ``OPENAI_BASE_URL``, ``OPENAI_ORG_ID`` … itself. ``max_tokens`` is sent as
``max_completion_tokens`` (the parameter current models accept). Streams ask for usage
(``stream_options={"include_usage": True}``) unless the caller passed ``stream_options``: the
last chunk then carries the usage and no choices.

The version's tools, response format and params are the API's own: sent as they are
(``tool_choice`` naming a function becomes ``{"type": "function", "function": {"name"}}``).
Messages go as rendered; an assistant message's ``tool_calls`` are sent in the API's form
(arguments as JSON text), and a ``tool`` message must carry its ``tool_call_id``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptops.sdk.errors import ConfigurationError
from promptops.sdk.providers.base import Provider, to_json
from promptops.sdk.providers.spec import (
    CallSpec,
    arguments_json,
    assistant_tool_calls,
    parse_arguments,
    require_ids,
    role_of,
)
from promptops.sdk.run_result import ToolCall

_PLAIN = frozenset(("role", "content", "name"))
_PLAIN_ROLES = frozenset(("system", "developer", "user", "assistant"))

__all__ = ["OpenAIProvider"]


class OpenAIProvider(Provider):
    name = "openai"
    title = "OpenAI"
    library = "openai"
    env_hint = "OPENAI_API_KEY (and OPENAI_BASE_URL)"

    def default_client(self, is_async: bool) -> Any:
        openai = self.import_library()
        return openai.AsyncOpenAI() if is_async else openai.OpenAI()

    def callable_client(self, client: Any, is_async: bool) -> Any:
        return self._client_with(
            client, is_async, "chat.completions.create", "openai.OpenAI", "openai.AsyncOpenAI"
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
        kwargs: dict[str, Any] = {"model": model, "messages": _messages(messages)}
        if temperature is not None:
            kwargs["temperature"] = temperature
        if max_tokens is not None:
            kwargs["max_completion_tokens"] = max_tokens
        if spec is not None:
            if spec.tools:
                kwargs["tools"] = spec.tools
            choice = spec.tool_choice
            if choice is not None:
                kwargs["tool_choice"] = (
                    choice
                    if choice in ("auto", "none", "required")
                    else {"type": "function", "function": {"name": choice}}
                )
            if spec.response_format is not None:
                kwargs["response_format"] = spec.response_format
            kwargs.update(spec.params)
        if params:
            kwargs.update(params)
        if stream:
            kwargs["stream"] = True
            if "stream_options" not in kwargs:
                kwargs["stream_options"] = {"include_usage": True}
        return kwargs

    def create(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any:
        return client.chat.completions.create(**kwargs)

    async def acreate(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any:
        return await client.chat.completions.create(**kwargs)

    # -- reading --------------------------------------------------------------------------

    def usage(self, response: Any) -> tuple[int | None, int | None]:
        usage = getattr(response, "usage", None)
        if usage is None:
            return None, None
        return usage.prompt_tokens, usage.completion_tokens

    def stream_usage(self, chunks: Sequence[Any]) -> tuple[int | None, int | None]:
        for chunk in reversed(chunks):
            if getattr(chunk, "usage", None) is not None:
                return self.usage(chunk)
        return None, None

    def text(self, response: Any) -> str | None:
        choices = getattr(response, "choices", None)
        if not choices:
            return None
        return choices[0].message.content

    def chunk_text(self, chunk: Any) -> str:
        choices = chunk.choices
        if not choices:
            return ""
        return choices[0].delta.content or ""

    def tool_calls(self, response: Any) -> list[ToolCall]:
        choices = getattr(response, "choices", None)
        if not choices:
            return []
        calls = choices[0].message.tool_calls or ()
        return [
            ToolCall(
                call.id,
                call.function.name,
                parse_arguments(call.function.arguments, f"tool_calls[{i}].arguments"),
            )
            for i, call in enumerate(calls)
            if getattr(call, "function", None) is not None
        ]

    def stream_tool_calls(self, chunks: Sequence[Any]) -> list[ToolCall]:
        slots: dict[int, list[Any]] = {}  # index -> [id, name, arguments]
        for chunk in chunks:
            for choice in chunk.choices:
                if choice.index != 0 or choice.delta is None:
                    continue
                for call in choice.delta.tool_calls or ():
                    slot = slots.setdefault(call.index, [None, "", ""])
                    if call.id:
                        slot[0] = call.id
                    if call.function is not None:
                        slot[1] += call.function.name or ""
                        slot[2] += call.function.arguments or ""
        return [
            ToolCall(slot[0], slot[1], parse_arguments(slot[2], f"tool_calls[{n}].arguments"))
            for n, slot in enumerate(slots[i] for i in sorted(slots))
        ]

    # -- JSON -----------------------------------------------------------------------------

    def merge(self, chunks: Sequence[Any]) -> dict[str, Any] | None:
        """A ``chat.completion`` object built from the chunks (content, refusal and tool
        calls concatenated per choice; ``finish_reason`` null if the stream was cut)."""
        if not chunks:
            return None
        first = chunks[0]
        merged: dict[str, Any] = {
            "id": first.id,
            "object": "chat.completion",
            "created": first.created,
            "model": first.model,
        }
        choices: dict[int, dict[str, Any]] = {}
        usage = None
        for chunk in chunks:
            if chunk.usage is not None:
                usage = chunk.usage
            for choice in chunk.choices:
                _merge_choice(choices, choice)
        merged["choices"] = [choices[i] for i in sorted(choices)]
        for choice in merged["choices"]:
            calls = choice["message"].pop("_tool_calls", None)
            if calls:
                choice["message"]["tool_calls"] = [calls[i] for i in sorted(calls)]
        merged["usage"] = to_json(usage)
        for key in ("system_fingerprint", "service_tier"):
            value = getattr(chunks[-1], key, None)
            if value is not None:
                merged[key] = value
        return merged


def _messages(messages: Sequence[Mapping[str, Any]]) -> list[Any]:
    """The rendered messages in the API's form: as they are when plain (the usual case)."""
    if all(_PLAIN.issuperset(m) and m.get("role") in _PLAIN_ROLES for m in messages):
        return list(messages)
    out: list[Any] = []
    for i, message in enumerate(messages):
        role = role_of(message, i)
        entry: dict[str, Any] = {"role": role, "content": message.get("content")}
        if role == "tool":
            call_id = message.get("tool_call_id")
            if not call_id:
                raise ConfigurationError(
                    f"messages[{i}].tool_call_id: a tool message needs the id of the call it"
                    " answers"
                )
            entry["tool_call_id"] = call_id
        elif message.get("name"):
            entry["name"] = message["name"]
        if role == "assistant":
            calls = assistant_tool_calls(message, i)
            if calls:
                require_ids(calls, i, "OpenAI")
                entry["tool_calls"] = [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {
                            "name": call.name,
                            "arguments": arguments_json(call.arguments),
                        },
                    }
                    for call in calls
                ]
                if not entry["content"]:
                    entry["content"] = None
        out.append(entry)
    return out


def _merge_choice(choices: dict[int, dict[str, Any]], choice: Any) -> None:
    entry = choices.get(choice.index)
    if entry is None:
        entry = choices[choice.index] = {
            "index": choice.index,
            "message": {"role": "assistant", "content": None},
            "finish_reason": None,
        }
    message = entry["message"]
    delta = choice.delta
    if delta is not None:
        if delta.role:
            message["role"] = delta.role
        if delta.content:
            message["content"] = (message["content"] or "") + delta.content
        if delta.refusal:
            message["refusal"] = message.get("refusal", "") + delta.refusal
        for call in delta.tool_calls or ():
            calls = message.setdefault("_tool_calls", {})
            slot = calls.setdefault(
                call.index,
                {"id": None, "type": "function", "function": {"name": "", "arguments": ""}},
            )
            if call.id:
                slot["id"] = call.id
            if call.type:
                slot["type"] = call.type
            if call.function is not None:
                slot["function"]["name"] += call.function.name or ""
                slot["function"]["arguments"] += call.function.arguments or ""
    if choice.finish_reason is not None:
        entry["finish_reason"] = choice.finish_reason
