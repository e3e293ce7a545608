"""Gemini ``generateContent`` through the official ``google-genai`` library
(``promptops[gemini]``).

A default client is ``google.genai.Client()``: it reads ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``
and ``GOOGLE_GEMINI_BASE_URL`` itself (``AsyncClient.run`` uses its ``.aio`` side). A caller's
``genai.Client`` works for both ``Client.run`` and ``AsyncClient.run``; its ``.aio`` client
works for ``AsyncClient.run``.

The rendered system message becomes ``config.system_instruction``, the user message the
``contents``; temperature and max tokens go into ``config`` (``max_output_tokens``), and so
do the other keyword arguments of ``run()`` (a caller's ``config=`` is merged over ours).
The logged response is the wire JSON (camelCase), without the fields the library adds (HTTP
headers, function-calling history).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from promptops.sdk.errors import ConfigurationError
from promptops.sdk.providers.base import Provider, is_async_callable, to_json

__all__ = ["GeminiProvider"]

# Fields the library adds to a response that the API did not send.
_NOT_WIRE = ("sdkHttpResponse", "automaticFunctionCallingHistory")
_NOT_WIRE_FIELDS = {"sdk_http_response", "automatic_function_calling_history"}


class GeminiProvider(Provider):
    name = "gemini"
    title = "Google Gen AI (Gemini)"
    library = "google.genai"
    env_hint = "GOOGLE_API_KEY or GEMINI_API_KEY (and GOOGLE_GEMINI_BASE_URL)"

    def default_client(self, is_async: bool) -> Any:
        genai = self.import_library()
        client = genai.Client()
        return client.aio if is_async else client

    def callable_client(self, client: Any, is_async: bool) -> Any:
        if is_async and not _is_async_models(client):
            aio = getattr(client, "aio", None)
            if aio is not None:
                client = aio
        models = getattr(client, "models", None)
        if models is None or not hasattr(models, "generate_content"):
            raise ConfigurationError(
                f"provider='gemini' needs a google.genai.Client, got {type(client).__name__}"
            )
        if _is_async_models(client) != is_async:
            raise ConfigurationError(
                "Client.run needs a google.genai.Client, not its .aio client"
                if not is_async
                else f"AsyncClient.run needs a google.genai.Client, got {type(client)!r}"
            )
        return client

    def close_client(self, client: Any) -> Any:
        aclose = getattr(client, "aclose", None)
        if aclose is not None:
            return aclose()
        return super().close_client(client)

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
        config: dict[str, Any] = {}
        contents = []
        for message in messages:
            if message["role"] == "system":
                config["system_instruction"] = message["content"]
            else:
                role = "model" if message["role"] == "assistant" else "user"
                contents.append({"role": role, "parts": [{"text": message["content"]}]})
        if temperature is not None:
            config["temperature"] = temperature
        if max_tokens is not None:
            config["max_output_tokens"] = max_tokens
        if params:
            params = dict(params)
            given = params.pop("config", None)
            if given is not None:
                if not isinstance(given, Mapping):
                    given = given.model_dump(exclude_none=True)
                config.update(given)
            config.update(params)
        kwargs: dict[str, Any] = {"model": model, "contents": contents}
        if config:
            kwargs["config"] = config
        return kwargs

    def create(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any:
        if stream:
            return client.models.generate_content_stream(**kwargs)
        return client.models.generate_content(**kwargs)

    async def acreate(self, client: Any, kwargs: dict[str, Any], stream: bool) -> Any:
        if stream:
            return await client.models.generate_content_stream(**kwargs)
        return await client.models.generate_content(**kwargs)

    # -- reading --------------------------------------------------------------------------

    def usage(self, response: Any) -> tuple[int | None, int | None]:
        usage = getattr(response, "usage_metadata", None)
        if usage is None:
            return None, None
        output = usage.candidates_token_count
        thoughts = usage.thoughts_token_count
        if thoughts:
            output = (output or 0) + thoughts
        return usage.prompt_token_count, output

    def stream_usage(self, chunks: Sequence[Any]) -> tuple[int | None, int | None]:
        for chunk in reversed(chunks):
            if getattr(chunk, "usage_metadata", None) is not None:
                return self.usage(chunk)
        return None, None

    def text(self, response: Any) -> str | None:
        return _text(response)

    def chunk_text(self, chunk: Any) -> str:
        return _text(chunk) or ""

    # -- JSON -----------------------------------------------------------------------------

    def error_body(self, exc: BaseException) -> Any:
        return getattr(exc, "details", None)

    def dump_json(self, response: Any) -> str | None:
        dump = getattr(response, "model_dump_json", None)
        if dump is None:
            return None
        try:
            return str(dump(exclude_none=True, by_alias=True, exclude=_NOT_WIRE_FIELDS))
        except Exception:
            return None

    def dump(self, response: Any) -> dict[str, Any] | None:
        value = to_json(response)
        if not isinstance(value, dict):
            return {"value": value}
        for key in _NOT_WIRE:
            value.pop(key, None)
        return value

    def merge(self, chunks: Sequence[Any]) -> dict[str, Any] | None:
        """One response built from the chunks: each candidate's text parts concatenated,
        the last finish reason and usage (absent if the stream was cut)."""
        if not chunks:
            return None
        merged: dict[str, Any] = {}
        candidates: dict[int, dict[str, Any]] = {}
        for chunk in chunks:
            data = self.dump(chunk) or {}
            for candidate in data.pop("candidates", None) or ():
                index = candidate.get("index", 0)
                slot = candidates.setdefault(index, {"content": {"parts": [], "role": "model"}})
                content = candidate.pop("content", None) or {}
                _extend_parts(slot["content"]["parts"], content.get("parts") or ())
                if content.get("role"):
                    slot["content"]["role"] = content["role"]
                slot.update(candidate)
            merged.update(data)
        merged["candidates"] = [candidates[i] for i in sorted(candidates)]
        return merged


def _is_async_models(client: Any) -> bool:
    models = getattr(client, "models", None)
    return models is not None and is_async_callable(getattr(models, "generate_content", None))


def _text(response: Any) -> str | None:
    """The text parts of the first candidate (as ``response.text``, without its warning
    about non-text parts)."""
    candidates = getattr(response, "candidates", None)
    if not candidates or candidates[0].content is None or not candidates[0].content.parts:
        return None
    texts = [
        part.text
        for part in candidates[0].content.parts
        if isinstance(part.text, str) and not part.thought
    ]
    return "".join(texts) if texts else None


def _extend_parts(parts: list[dict[str, Any]], new: Sequence[Mapping[str, Any]]) -> None:
    for part in new:
        last = parts[-1] if parts else None
        if (
            last is not None
            and set(part) <= {"text", "thought"}
            and set(last) <= {"text", "thought"}
            and "text" in part
            and "text" in last
            and bool(part.get("thought")) == bool(last.get("thought"))
        ):
            last["text"] += part["text"]
        else:
            parts.append(dict(part))
