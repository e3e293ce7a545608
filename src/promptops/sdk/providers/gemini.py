"""Gemini ``generateContent`` through the official ``google-genai`` library
(``promptops[gemini]``).

A default client is ``google.genai.Client()``: it reads ``GOOGLE_API_KEY`` / ``GEMINI_API_KEY``
and ``GOOGLE_GEMINI_BASE_URL`` itself (``AsyncClient.run`` uses its ``.aio`` side). A caller's
``genai.Client`` works for both ``Client.run`` and ``AsyncClient.run``; its ``.aio`` client
works for ``AsyncClient.run``.

Leading system and developer messages become ``config.system_instruction`` (a later one cannot
be expressed: error), the others the ``contents`` (assistant → role "model", its tool calls
→ ``function_call`` parts; ``tool`` messages → ``function_response`` parts
``{name, id, response: {"output": content}}``, the name from the message or from the
assistant call it answers). Temperature and max tokens go into ``config``
(``max_output_tokens``), and so does the version's content:

- tools → one ``Tool`` of ``function_declarations`` (``parameters_json_schema``: the JSON
  Schema as written); ``strict`` has no equivalent (error);
- ``tool_choice`` → ``tool_config.function_calling_config``: auto / none / required →
  mode AUTO / NONE / ANY, a function name → ANY with ``allowed_function_names``;
- ``response_format`` json_object / json_schema → ``response_mime_type``
  "application/json" (+ ``response_json_schema``);
- ``params``: ``top_p``, ``seed``, ``presence_penalty``, ``frequency_penalty`` as they are,
  ``stop`` → ``stop_sequences``, ``reasoning_effort`` → ``thinking_config.thinking_level``.

The other keyword arguments of ``run()`` go into ``config`` too (a caller's ``config=`` is
merged over ours).
The logged response is the wire JSON (camelCase), without the fields the library adds (HTTP
headers, function-calling history).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from promptops.sdk.errors import ConfigurationError
from promptops.sdk.providers.base import Provider, is_async_callable, to_json
from promptops.sdk.providers.spec import CallSpec, assistant_tool_calls, role_of, text_content
from promptops.sdk.run_result import ToolCall

_MODES = {"auto": "AUTO", "none": "NONE", "required": "ANY"}  # else a name: ANY + allowed
_LEVELS = ("MINIMAL", "LOW", "MEDIUM", "HIGH")

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
        messages: Sequence[Mapping[str, Any]],
        model: str,
        temperature: float | None,
        max_tokens: int | None,
        params: dict[str, Any],
        stream: bool,
        temperature_given: bool = False,
        spec: CallSpec | None = None,
    ) -> dict[str, Any]:
        config: dict[str, Any] = {}
        system, contents = self._contents(messages)
        if system:
            config["system_instruction"] = (
                system[0] if len(system) == 1 else {"parts": [{"text": t} for t in system]}
            )
        if temperature is not None:
            config["temperature"] = temperature
        if max_tokens is not None:
            config["max_output_tokens"] = max_tokens
        if spec is not None:
            self._map_spec(spec, config)
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

    def _contents(
        self, messages: Sequence[Mapping[str, Any]]
    ) -> tuple[list[str], list[dict[str, Any]]]:
        system: list[str] = []
        contents: list[dict[str, Any]] = []
        names: dict[str, str] = {}  # call id -> function name, from the assistant's calls
        responses: list[dict[str, Any]] | None = None  # the open content of function responses
        for i, message in enumerate(messages):
            role = role_of(message, i)
            content = text_content(message, i)
            if message.get("name") and role != "tool":
                raise self.unsupported(f"messages[{i}].name", "Gemini has no participant names")
            if role in ("system", "developer"):
                if contents:
                    raise self.unsupported(
                        f"messages[{i}]",
                        "a system message after the conversation started (only leading"
                        " system / developer messages become system_instruction)",
                    )
                system.append(content)
                continue
            if role == "tool":
                part = {"function_response": self._response(message, i, content, names)}
                if responses is None:
                    responses = [part]
                    contents.append({"role": "user", "parts": responses})
                else:
                    responses.append(part)
                continue
            responses = None
            parts: list[dict[str, Any]] = [{"text": content}] if content else []
            if role == "assistant":
                for call in assistant_tool_calls(message, i):
                    function_call: dict[str, Any] = {"name": call.name, "args": call.arguments}
                    if call.id:
                        function_call["id"] = call.id
                        names[call.id] = call.name
                    parts.append({"function_call": function_call})
            contents.append(
                {
                    "role": "model" if role == "assistant" else "user",
                    "parts": parts or [{"text": ""}],
                }
            )
        return system, contents

    @staticmethod
    def _response(
        message: Mapping[str, Any], index: int, content: str, names: dict[str, str]
    ) -> dict[str, Any]:
        call_id = message.get("tool_call_id")
        name = message.get("name") or (names.get(call_id) if call_id else None)
        if not name:
            raise ConfigurationError(
                f"messages[{index}]: Gemini needs the function name of a tool message (its"
                " name, or a tool_call_id of an earlier assistant tool call)"
            )
        response: dict[str, Any] = {"name": name, "response": {"output": content}}
        if call_id:
            response["id"] = call_id
        return response

    def _map_spec(self, spec: CallSpec, config: dict[str, Any]) -> None:
        if spec.tools:
            declarations = []
            for i, tool in enumerate(spec.tools):
                function = tool["function"]
                if function.get("strict"):
                    raise self.unsupported(
                        f"tools[{i}].function.strict",
                        "Gemini function declarations have no strict mode (set strict false)",
                    )
                declaration: dict[str, Any] = {"name": function["name"]}
                if function.get("description"):
                    declaration["description"] = function["description"]
                if function.get("parameters") is not None:
                    declaration["parameters_json_schema"] = function["parameters"]
                declarations.append(declaration)
            config["tools"] = [{"function_declarations": declarations}]
        choice = spec.tool_choice
        if choice is not None:
            calling: dict[str, Any] = {"mode": _MODES.get(choice, "ANY")}
            if choice not in _MODES:
                calling["allowed_function_names"] = [choice]
            config["tool_config"] = {"function_calling_config": calling}
        fmt = spec.json_format
        if fmt is not None:
            config["response_mime_type"] = "application/json"
            if fmt == "json_schema":
                config["response_json_schema"] = spec.schema
        params = spec.params
        for name in ("top_p", "seed", "presence_penalty", "frequency_penalty"):
            if name in params:
                config[name] = params[name]
        if "stop" in params:
            config["stop_sequences"] = list(params["stop"])
        effort = params.get("reasoning_effort")
        if effort is not None:
            if not isinstance(effort, str) or effort.upper() not in _LEVELS:
                raise self.unsupported(
                    "params.reasoning_effort",
                    f"{effort!r} (thinking_level takes {', '.join(_LEVELS).lower()})",
                )
            config["thinking_config"] = {"thinking_level": effort.upper()}

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

    def tool_calls(self, response: Any) -> list[ToolCall]:
        return list(_function_calls(response))

    def stream_tool_calls(self, chunks: Sequence[Any]) -> list[ToolCall]:
        return [call for chunk in chunks for call in _function_calls(chunk)]

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


def _function_calls(response: Any) -> Iterator[ToolCall]:
    """The function calls of the first candidate (arguments as sent: a JSON object)."""
    candidates = getattr(response, "candidates", None)
    if not candidates or candidates[0].content is None:
        return
    for part in candidates[0].content.parts or ():
        call = part.function_call
        if call is not None and call.name:
            yield ToolCall(call.id, call.name, dict(call.args or {}))


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
