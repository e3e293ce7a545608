"""What ``run()`` returns: :class:`RunResult`, or with ``stream=True`` a :class:`RunStream`
(``Client``) / :class:`AsyncRunStream` (``AsyncClient``) that yields the provider library's
own chunks and queues the call's log record when the stream ends, fails or is closed.

Both also read the reply in a provider-neutral way:

- ``tool_calls``: the function calls the model asked for, a list of :class:`ToolCall`
  (``id``, ``name``, ``arguments`` as a dict; ``id`` is None where the provider gave none,
  as Gemini may). Arguments that are not a JSON object (a model's malformed JSON, a stream cut
  short) raise :class:`~promptops.sdk.errors.InvalidOutputError` naming the call, with the
  raw text in ``.raw``: the exchange is logged as received either way.
- ``parsed``: when the prompt's ``response_format`` is ``json_object`` or ``json_schema``, the
  reply's text parsed as JSON and, for ``json_schema``, checked against the schema (the
  ``jsonschema`` library, Draft 2020-12); None for a text format. Computed when first read:
  invalid output raises :class:`~promptops.sdk.errors.InvalidOutputError` (``field``
  "parsed", ``raw`` the text) each time it is read, while ``response``, ``text`` and
  ``log_id`` stay available.

On a stream both are read once it has ended (iterated to the end, or closed); before that
they raise :class:`~promptops.sdk.errors.ConfigurationError`.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from promptops.sdk.errors import ConfigurationError, InvalidOutputError
from promptops.sdk.ids import uuid7

if TYPE_CHECKING:
    from promptops.sdk.pricing import PriceTable
    from promptops.sdk.prompt import Prompt
    from promptops.sdk.providers.base import Provider
    from promptops.sdk.providers.spec import CallSpec
    from promptops.sdk.run import _Call, _RunState

__all__ = ["AsyncRunStream", "RunResult", "RunStream", "ToolCall", "Usage", "parse_output"]

log = logging.getLogger("promptops")


class Usage(NamedTuple):
    """Token usage of one call, as the provider reported it (None where it did not)."""

    input_tokens: int | None
    output_tokens: int | None

    @property
    def total_tokens(self) -> int | None:
        if self.input_tokens is None and self.output_tokens is None:
            return None
        return (self.input_tokens or 0) + (self.output_tokens or 0)


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the model asked for, the same for every provider. ``id`` is what a
    ``tool`` message answering it carries as ``tool_call_id`` (None where the provider gave
    no id); ``arguments`` the call's arguments parsed from JSON."""

    id: str | None
    name: str
    arguments: dict[str, Any]


_UNSET: Any = object()


def parse_output(text: str | None, spec: CallSpec) -> Any:
    """``text`` parsed as the JSON ``spec.response_format`` asks for (None for text):
    :class:`InvalidOutputError` when it is not JSON, not an object (``json_object``) or not
    valid against the schema (``json_schema``)."""
    kind = spec.json_format
    if kind is None:
        return None
    if text is None or not text.strip():
        raise InvalidOutputError("parsed", "the reply has no text to parse as JSON", text)
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise InvalidOutputError("parsed", f"the reply is not JSON ({exc})", text) from None
    if kind == "json_object" and not isinstance(value, dict):
        raise InvalidOutputError("parsed", "the reply is not a JSON object", text)
    schema = spec.schema
    if schema is not None:
        problem = _schema_problem(value, schema)
        if problem is not None:
            raise InvalidOutputError(
                "parsed", f"the reply does not match the schema: {problem}", text
            )
    return value


def _schema_problem(value: Any, schema: dict[str, Any]) -> str | None:
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - installed with every provider extra
        raise ConfigurationError(
            "checking JSON output against a schema needs the jsonschema library:"
            " pip install 'promptops[openai]' (or [anthropic], [gemini])"
        ) from exc
    validator = jsonschema.Draft202012Validator(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "(root)"
    return f"at {where}: {error.message}"


class RunResult:
    """What a non-streaming ``run()`` returns.

    ``response`` is the provider library's own response object (``ChatCompletion``,
    ``Message``, ``GenerateContentResponse``), unchanged. ``log_id`` is the id of the log
    record (``GET /v1/logs/{log_id}`` once sent). ``prompt`` is the :class:`Prompt` used.
    """

    __slots__ = (
        "_adapter",
        "_parsed",
        "_prices",
        "_spec",
        "_tool_calls",
        "latency_ms",
        "log_id",
        "model",
        "prompt",
        "response",
    )

    def __init__(
        self,
        response: Any,
        log_id: str,
        prompt: Prompt,
        adapter: Provider,
        model: str,
        latency_ms: float,
        prices: PriceTable,
        spec: CallSpec,
    ) -> None:
        self.response = response
        self.log_id = log_id
        self.prompt = prompt
        self.model = model
        self.latency_ms = latency_ms
        self._adapter = adapter
        self._prices = prices
        self._spec = spec
        self._tool_calls: list[ToolCall] | None = None
        self._parsed: Any = _UNSET

    @property
    def provider(self) -> str:
        return self._adapter.name

    @property
    def text(self) -> str | None:
        """The reply's text (first choice / text blocks / first candidate's text parts)."""
        return self._adapter.text(self.response)

    @property
    def usage(self) -> Usage:
        return Usage(*self._adapter.usage(self.response))

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The function calls the model asked for (see the module docstring)."""
        calls = self._tool_calls
        if calls is None:
            calls = self._tool_calls = self._adapter.tool_calls(self.response)
        return list(calls)

    @property
    def parsed(self) -> Any:
        """The JSON output, checked (see the module docstring); None for text output."""
        parsed = self._parsed
        if parsed is _UNSET:
            parsed = self._parsed = parse_output(self.text, self._spec)
        return parsed

    @property
    def cost_usd(self) -> float | None:
        """Estimated cost from the client's price table (None for an unknown model)."""
        return self._prices.cost(self.model, *self._adapter.usage(self.response))

    def __repr__(self) -> str:
        return (
            f"RunResult(provider={self.provider!r}, model={self.model!r},"
            f" log_id={self.log_id!r}, prompt={self.prompt.slug!r} v{self.prompt.version})"
        )


class _StreamBase:
    __slots__ = (
        "_adapter",
        "_created",
        "_finished",
        "_kwargs",
        "_meta",
        "_parsed",
        "_spec",
        "_start",
        "_state",
        "_tags",
        "_tool_calls",
        "chunks",
        "log_id",
        "model",
        "prompt",
        "response",
    )

    def __init__(
        self,
        state: _RunState,
        call: _Call,
        source: Any,
        created: float,
        start: float,
    ) -> None:
        self.response = source
        self.log_id = uuid7()
        self.prompt = call.prompt
        self.model = call.model
        self.chunks: list[Any] = []
        self._state = state
        self._adapter = call.adapter
        self._kwargs = call.kwargs
        self._meta = call.metadata
        self._tags = call.tags
        self._spec = call.spec
        self._created = created
        self._start = start
        self._finished = False
        self._tool_calls: list[ToolCall] | None = None
        self._parsed: Any = _UNSET

    @property
    def provider(self) -> str:
        return self._adapter.name

    @property
    def finished(self) -> bool:
        """The stream ended, failed or was closed (and its log record is queued)."""
        return self._finished

    @property
    def text(self) -> str:
        """The text received so far."""
        chunk_text = self._adapter.chunk_text
        return "".join(chunk_text(chunk) for chunk in self.chunks)

    @property
    def usage(self) -> Usage:
        """Usage, once the provider reported it (OpenAI: the last chunk)."""
        return Usage(*self._adapter.stream_usage(self.chunks))

    def _ended(self, name: str) -> None:
        if not self._finished:
            raise ConfigurationError(
                f"{name} is read once the stream has ended: iterate it to the end (or close it)"
            )

    @property
    def tool_calls(self) -> list[ToolCall]:
        """The function calls of the stream, its deltas accumulated (once it has ended)."""
        self._ended("tool_calls")
        calls = self._tool_calls
        if calls is None:
            calls = self._tool_calls = self._adapter.stream_tool_calls(self.chunks)
        return list(calls)

    @property
    def parsed(self) -> Any:
        """The streamed JSON output, checked (once the stream has ended)."""
        self._ended("parsed")
        parsed = self._parsed
        if parsed is _UNSET:
            parsed = self._parsed = parse_output(self.text, self._spec)
        return parsed

    def _finish(self, error: BaseException | None) -> None:
        if self._finished:
            return
        self._finished = True
        latency = (time.perf_counter() - self._start) * 1000.0
        try:
            self._state.log(
                self.log_id,
                self._adapter,
                self.prompt,
                self.model,
                self._kwargs,
                None,
                self.chunks,
                error,
                self._created,
                latency,
                self._meta,
                self._tags,
            )
        except Exception:  # pragma: no cover - logging never breaks the caller's stream
            log.exception("PromptOps: could not queue the log of a stream")

    def __repr__(self) -> str:
        state = "finished" if self._finished else "open"
        return (
            f"{type(self).__name__}(provider={self.provider!r}, model={self.model!r},"
            f" log_id={self.log_id!r}, chunks={len(self.chunks)}, {state})"
        )


class RunStream(_StreamBase):
    """What ``Client.run(..., stream=True)`` returns: iterate it for the library's own chunks
    (OpenAI ``ChatCompletionChunk``, Anthropic raw stream events, Gemini
    ``GenerateContentResponse`` pieces), unchanged.

    The call is logged when the stream ends, fails (the library's exception is re-raised
    unchanged), or is closed early (``close()``, ``with``, or garbage collection): the log
    holds what arrived. ``response`` is the library's stream object.
    """

    __slots__ = ("_iter",)

    def __init__(
        self, state: _RunState, call: _Call, source: Any, created: float, start: float
    ) -> None:
        super().__init__(state, call, source, created, start)
        self._iter: Iterator[Any] = iter(source)

    def __iter__(self) -> RunStream:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._iter)
        except StopIteration:
            self._finish(None)
            raise
        except Exception as exc:
            self._finish(exc)
            raise
        self.chunks.append(chunk)
        return chunk

    def close(self) -> None:
        """Stop reading: the connection is released and the call logged."""
        self._finish(None)
        close = getattr(self.response, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> RunStream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        if not self._finished:
            with contextlib.suppress(Exception):  # e.g. at interpreter shutdown
                self._finish(None)


class AsyncRunStream(_StreamBase):
    """What ``AsyncClient.run(..., stream=True)`` returns: ``async for`` it for the
    library's own chunks / events; logged like :class:`RunStream` (``aclose()`` /
    ``async with`` to stop early)."""

    __slots__ = ("_aiter",)

    def __init__(
        self, state: _RunState, call: _Call, source: Any, created: float, start: float
    ) -> None:
        super().__init__(state, call, source, created, start)
        self._aiter: AsyncIterator[Any] = aiter(source)

    def __aiter__(self) -> AsyncRunStream:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await anext(self._aiter)
        except StopAsyncIteration:
            self._finish(None)
            raise
        except Exception as exc:
            self._finish(exc)
            raise
        except BaseException:  # cancelled: logged with what arrived
            self._finish(None)
            raise
        self.chunks.append(chunk)
        return chunk

    async def aclose(self) -> None:
        """Stop reading: the connection is released and the call logged."""
        self._finish(None)
        source = self.response
        close = getattr(source, "aclose", None) or getattr(source, "close", None)
        if close is not None:
            result = close()
            if inspect.isawaitable(result):
                await result

    close = aclose

    async def __aenter__(self) -> AsyncRunStream:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    def __del__(self) -> None:
        if not self._finished:
            with contextlib.suppress(Exception):  # e.g. at interpreter shutdown
                self._finish(None)
