"""What ``run()`` returns: :class:`RunResult`, or with ``stream=True`` a :class:`RunStream`
(``Client``) / :class:`AsyncRunStream` (``AsyncClient``) that yields the provider library's
own chunks and queues the call's log record when the stream ends, fails or is closed."""

from __future__ import annotations

import contextlib
import inspect
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from promptops.sdk.ids import uuid7

if TYPE_CHECKING:
    from promptops.sdk.pricing import PriceTable
    from promptops.sdk.prompt import Prompt
    from promptops.sdk.providers.base import Provider
    from promptops.sdk.run import _Call, _RunState

__all__ = ["AsyncRunStream", "RunResult", "RunStream", "Usage"]

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


class RunResult:
    """What a non-streaming ``run()`` returns.

    ``response`` is the provider library's own response object (``ChatCompletion``,
    ``Message``, ``GenerateContentResponse``), unchanged. ``log_id`` is the id of the log
    record (``GET /v1/logs/{log_id}`` once sent). ``prompt`` is the :class:`Prompt` used.
    """

    __slots__ = ("_adapter", "_prices", "latency_ms", "log_id", "model", "prompt", "response")

    def __init__(
        self,
        response: Any,
        log_id: str,
        prompt: Prompt,
        adapter: Provider,
        model: str,
        latency_ms: float,
        prices: PriceTable,
    ) -> None:
        self.response = response
        self.log_id = log_id
        self.prompt = prompt
        self.model = model
        self.latency_ms = latency_ms
        self._adapter = adapter
        self._prices = prices

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
        "_start",
        "_state",
        "_tags",
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
        self._created = created
        self._start = start
        self._finished = False

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
