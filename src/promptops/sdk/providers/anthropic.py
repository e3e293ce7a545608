"""Anthropic Messages through the official ``anthropic`` library (``promptops[anthropic]``).

A default client is ``anthropic.Anthropic()`` / ``AsyncAnthropic()``: it reads
``ANTHROPIC_API_KEY`` and ``ANTHROPIC_BASE_URL`` itself. The rendered system message becomes
the ``system`` parameter. The Messages API requires ``max_tokens``: a version without one
sends :data:`DEFAULT_MAX_TOKENS`. The version's temperature is sent where the installed
library has a ``temperature`` parameter; anthropic 2.x has none, so it is left out, and a
``temperature=`` passed to ``run()`` explicitly goes in ``extra_body``. Streams are the raw
event stream (``messages.create(stream=True)``): the caller receives the library's events.

Input tokens are ``input_tokens`` plus the cache-creation and cache-read input tokens (every
prompt token the call processed); the estimated cost prices them all at the input price.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from typing import Any

from promptops.sdk.providers.base import Provider, to_json

__all__ = ["DEFAULT_MAX_TOKENS", "AnthropicProvider"]

DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(Provider):
    name = "anthropic"
    title = "Anthropic"
    library = "anthropic"
    env_hint = "ANTHROPIC_API_KEY (and ANTHROPIC_BASE_URL)"

    _takes_temperature: bool | None = None

    def default_client(self, is_async: bool) -> Any:
        anthropic = self.import_library()
        return anthropic.AsyncAnthropic() if is_async else anthropic.Anthropic()

    def callable_client(self, client: Any, is_async: bool) -> Any:
        return self._client_with(
            client, is_async, "messages.create", "anthropic.Anthropic", "anthropic.AsyncAnthropic"
        )

    def build(
        self,
        messages: list[dict[str, str]],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        params: dict[str, Any],
        stream: bool,
        temperature_given: bool = False,
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "model": model,
            "max_tokens": DEFAULT_MAX_TOKENS if max_tokens is None else max_tokens,
        }
        if messages and messages[0]["role"] == "system":
            kwargs["system"] = messages[0]["content"]
            messages = messages[1:]
        kwargs["messages"] = messages
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

    def takes_temperature(self) -> bool:
        """Whether the installed library's ``messages.create`` has a ``temperature``
        parameter (anthropic 0.x / 1.x do; 2.x has none)."""
        takes = self._takes_temperature
        if takes is None:
            try:
                create = self.import_library().resources.messages.Messages.create
                takes = "temperature" in inspect.signature(create).parameters
            except (AttributeError, TypeError, ValueError):
                takes = True
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


def _input_tokens(usage: Any) -> int | None:
    tokens = usage.input_tokens
    if tokens is None:
        return None
    return int(
        tokens
        + (getattr(usage, "cache_creation_input_tokens", None) or 0)
        + (getattr(usage, "cache_read_input_tokens", None) or 0)
    )
