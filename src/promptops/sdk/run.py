"""``run()``: fetch a prompt, render it, call the LLM provider, and log the exchange.

``Client.run(...)`` is :func:`run_sync` and ``AsyncClient.run(...)`` is :func:`run_async`::

    result = client.run("onboarding-email", {"name": "Ada"}, provider="openai")
    result.response        # the library's own ChatCompletion, unchanged
    result.text, result.usage, result.log_id, result.prompt

    for chunk in client.run("onboarding-email", {"name": "Ada"}, stream=True):
        ...                # the library's own chunks / events, unchanged

The version's ``tools``, ``tool_choice``, ``response_format`` and ``params`` are sent too,
mapped by the provider adapter to the library's own form (:mod:`promptops.sdk.providers`);
keyword arguments of ``run()`` with those names replace them for one call (same neutral form;
None leaves one out). What the provider cannot express raises
:class:`~promptops.sdk.errors.UnsupportedFieldError` before any call. ``result.tool_calls``
and ``result.parsed`` read the reply the same way for every provider
(:mod:`promptops.sdk.run_result`).

What ``run()`` adds to the provider call: a cached prompt read, a render, building the call's
arguments, and one :class:`~promptops.sdk.logging_queue.LogEntry` put on a bounded in-memory
queue. No network wait of ours: the log is sent later, in batches, by a background sender
(see :mod:`promptops.sdk.logging_queue`). Provider errors reach the caller unchanged (the
same exception object) after an error record is queued.
"""

from __future__ import annotations

import inspect
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from promptops.sdk.errors import ConfigurationError
from promptops.sdk.ids import uuid7
from promptops.sdk.log_sender import TaskSender, ThreadSender
from promptops.sdk.logging_queue import CLOSE_TIMEOUT, LogEntry, LogQueue, LogStats
from promptops.sdk.providers.base import Provider, detect_provider, get_provider
from promptops.sdk.providers.spec import CallSpec, call_spec
from promptops.sdk.run_result import AsyncRunStream, RunResult, RunStream, ToolCall, Usage

if TYPE_CHECKING:
    from promptops.sdk._base import BaseClient
    from promptops.sdk.client import AsyncClient, Client
    from promptops.sdk.pricing import PriceTable
    from promptops.sdk.prompt import Prompt

__all__ = [
    "AsyncRunStream",
    "RunResult",
    "RunStream",
    "ToolCall",
    "Usage",
    "flush_async",
    "flush_sync",
    "run_async",
    "run_sync",
]

log = logging.getLogger("promptops")

MAX_TAGS = 50
MAX_TAG_LENGTH = 100


# -- per-client state ----------------------------------------------------------------------


class _Call:
    """One prepared provider call."""

    __slots__ = ("adapter", "client", "kwargs", "metadata", "model", "prompt", "spec", "tags")

    def __init__(
        self,
        adapter: Provider,
        client: Any,
        kwargs: dict[str, Any],
        model: str,
        prompt: Prompt,
        metadata: dict[str, Any] | None,
        tags: list[str] | None,
        spec: CallSpec,
    ) -> None:
        self.spec = spec
        self.adapter = adapter
        self.client = client
        self.kwargs = kwargs
        self.model = model
        self.prompt = prompt
        self.metadata = metadata
        self.tags = tags


class _RunState:
    """What ``run()`` keeps per PromptOps client: the log queue and its sender, and the
    provider clients it made from the environment (closed with the PromptOps client)."""

    def __init__(self, client: BaseClient, is_async: bool) -> None:
        self.is_async = is_async
        self.prices: PriceTable = client._prices
        self.queue = LogQueue(client._log_settings)
        self.sender: ThreadSender | TaskSender = (
            TaskSender(client, self.queue, client._log_settings)
            if is_async
            else ThreadSender(client, self.queue, client._log_settings)
        )
        self._own_clients: dict[str, tuple[Provider, Any]] = {}
        self._checked: dict[int, tuple[Any, Any]] = {}  # id → (caller's client, callable)
        self._lock = threading.Lock()
        client._on_close(self.aclose if is_async else self.close)

    # -- provider clients ---------------------------------------------------------------

    def provider_client(self, adapter: Provider, given: Any) -> Any:
        if given is None:
            own = self._own_clients.get(adapter.name)
            if own is None:
                with self._lock:
                    own = self._own_clients.get(adapter.name)
                    if own is None:
                        own = (adapter, adapter.default_client(self.is_async))
                        self._own_clients[adapter.name] = own
            return own[1]
        checked = self._checked.get(id(given))
        if checked is not None and checked[0] is given:
            return checked[1]
        target = adapter.callable_client(given, self.is_async)
        if len(self._checked) < 64:
            self._checked[id(given)] = (given, target)
        return target

    # -- logging ------------------------------------------------------------------------

    def log(
        self,
        log_id: str,
        adapter: Provider,
        prompt: Prompt,
        model: str,
        kwargs: dict[str, Any],
        response: Any,
        chunks: list[Any] | None,
        error: BaseException | None,
        created: float,
        latency_ms: float,
        metadata: dict[str, Any] | None,
        tags: list[str] | None,
    ) -> None:
        message = body = None
        if error is not None:
            text = str(error)
            message = f"{type(error).__name__}: {text}" if text else type(error).__name__
            body = adapter.error_body(error)
        self.queue.put(
            LogEntry(
                log_id,
                created,
                adapter,
                model,
                prompt,
                kwargs,
                response,
                chunks,
                message,
                body,
                latency_ms,
                metadata,
                tags,
            )
        )
        self.sender.ensure_started()

    # -- lifecycle ----------------------------------------------------------------------

    def _after_fork(self, client: BaseClient) -> None:
        """In a forked child: a fresh queue and sender (what the parent queued is the
        parent's to send); provider clients made here are dropped, not closed (their
        connections are the parent's) and made again on use."""
        global _STATE_LOCK
        _STATE_LOCK = threading.Lock()
        self._lock = threading.Lock()
        self.queue = LogQueue(client._log_settings)
        self.sender = (
            TaskSender(client, self.queue, client._log_settings)
            if self.is_async
            else ThreadSender(client, self.queue, client._log_settings)
        )
        self._own_clients = {}

    def close(self) -> None:
        sender = self.sender
        assert isinstance(sender, ThreadSender)
        sender.close(CLOSE_TIMEOUT)
        for adapter, client in self._own_clients.values():
            try:
                adapter.close_client(client)
            except Exception:  # pragma: no cover
                log.exception("PromptOps: closing the %s client failed", adapter.title)
        self._own_clients.clear()
        self._checked.clear()

    async def aclose(self) -> None:
        sender = self.sender
        assert isinstance(sender, TaskSender)
        await sender.close(CLOSE_TIMEOUT)
        for adapter, client in self._own_clients.values():
            try:
                result = adapter.close_client(client)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # pragma: no cover
                log.exception("PromptOps: closing the %s client failed", adapter.title)
        self._own_clients.clear()
        self._checked.clear()


_STATE_LOCK = threading.Lock()


def _state(client: BaseClient, is_async: bool) -> _RunState:
    state: _RunState | None = client._run_state
    if state is None:
        with _STATE_LOCK:
            state = client._run_state
            if state is None:
                state = _RunState(client, is_async)
                client._run_state = state
    return state


# -- preparing a call ----------------------------------------------------------------------


def _given_client(client: Any, provider_client: Any) -> Any:
    if client is not None and provider_client is not None and client is not provider_client:
        raise ConfigurationError("pass the provider's client as client= or provider_client=")
    return client if client is not None else provider_client


def _checked_meta(metadata: Any, tags: Any) -> tuple[dict[str, Any] | None, list[str] | None]:
    if metadata is not None:
        if not isinstance(metadata, Mapping):
            raise ConfigurationError(f"metadata must be a mapping, not {type(metadata).__name__}")
        metadata = dict(metadata)
    if tags is not None:
        if isinstance(tags, str) or not isinstance(tags, Sequence):
            raise ConfigurationError(f"tags must be a list of strings, not {tags!r}")
        tags = list(tags)
        if len(tags) > MAX_TAGS:
            raise ConfigurationError(f"at most {MAX_TAGS} tags, got {len(tags)}")
        for tag in tags:
            if not isinstance(tag, str) or not 1 <= len(tag) <= MAX_TAG_LENGTH:
                raise ConfigurationError(
                    f"each tag must be a string of 1 to {MAX_TAG_LENGTH} characters, not {tag!r}"
                )
    return metadata, tags


def _prepare(
    state: _RunState,
    prompt: Prompt,
    variables: Mapping[str, Any] | None,
    provider: str | None,
    given: Any,
    stream: bool,
    overrides: dict[str, Any],
    metadata: dict[str, Any] | None,
    tags: list[str] | None,
) -> _Call:
    model = overrides.pop("model", prompt.model)
    temperature_given = "temperature" in overrides
    temperature = overrides.pop("temperature") if temperature_given else prompt.temperature
    max_tokens = overrides.pop("max_tokens", prompt.max_tokens)
    if not model or not isinstance(model, str):
        raise ConfigurationError(
            f"prompt {prompt.slug!r} (version {prompt.version}) names no model: pass model=..."
        )
    if overrides and not prompt._names.isdisjoint(overrides):
        names = sorted(prompt._names.intersection(overrides))
        raise ConfigurationError(
            f"{', '.join(names)}: template variables go in the variables mapping,"
            f" run({prompt.slug!r}, {{{names[0]!r}: ...}}), not as keyword arguments"
        )
    name = provider or detect_provider(given, prompt.metadata, model)
    if name is None:
        raise ConfigurationError(
            f"cannot tell which provider serves model {model!r}: pass provider='openai',"
            " 'anthropic' or 'gemini'"
        )
    adapter = get_provider(name)
    spec = call_spec(prompt, overrides)
    messages = _messages(prompt, variables)
    kwargs = adapter.build(
        messages, model, temperature, max_tokens, overrides, stream, temperature_given, spec
    )
    client = state.provider_client(adapter, given)
    return _Call(adapter, client, kwargs, model, prompt, metadata, tags, spec)


def _messages(prompt: Prompt, variables: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The one seam between the prompt and the providers: the rendered messages, provider
    neutral (``{"role": system|developer|user|assistant|tool, "content": str, "name"?,
    "tool_call_id"?, "tool_calls"?}``). A text prompt's rendered text is the one user
    message (chat APIs have no completion form)."""
    rendered = prompt.render(variables)
    if isinstance(rendered, str):
        return [{"role": "user", "content": rendered}]
    return list(rendered)


# -- run -------------------------------------------------------------------------------------


def run_sync(
    po: Client,
    /,
    slug: str,
    variables: Mapping[str, Any] | None = None,
    *,
    provider: str | None = None,
    client: Any = None,
    provider_client: Any = None,
    version: int | None = None,
    fallback: Any = None,
    stream: bool = False,
    metadata: Mapping[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    **overrides: Any,
) -> Any:
    """``Client.run``: see the module docstring and docs/sdk.md.

    ``variables`` fill the template; ``provider`` is "openai", "anthropic" or "gemini"
    (default: from ``client``'s type, the version's ``metadata["provider"]``, or the model
    name); ``client`` / ``provider_client`` is your configured provider client (default: one
    made from the environment); ``version`` / ``fallback`` as in ``get_prompt``; ``model``,
    ``temperature``, ``max_tokens`` override the version's (None leaves one out), and so do
    ``tools``, ``tool_choice``, ``response_format``, ``top_p``, ``stop``, ``seed``,
    ``presence_penalty``, ``frequency_penalty``, ``reasoning_effort`` (in the prompt's neutral
    form, mapped per provider); other keyword arguments go to the provider call unchanged.
    Returns a :class:`RunResult`, or a :class:`RunStream` with ``stream=True``.
    """
    if po._closed:
        raise ConfigurationError("this Client is closed")
    given = _given_client(client, provider_client)
    meta, tag_list = _checked_meta(metadata, tags)
    prompt = po.get_prompt(slug, version, fallback)
    state = po._run_state or _state(po, False)
    call = _prepare(state, prompt, variables, provider, given, stream, overrides, meta, tag_list)
    adapter = call.adapter
    created = time.time()
    start = time.perf_counter()
    try:
        response = adapter.create(call.client, call.kwargs, stream)
    except Exception as exc:
        latency = (time.perf_counter() - start) * 1000.0
        state.log(
            uuid7(),
            adapter,
            prompt,
            call.model,
            call.kwargs,
            None,
            None,
            exc,
            created,
            latency,
            meta,
            tag_list,
        )
        raise
    if stream:
        return RunStream(state, call, response, created, start)
    latency = (time.perf_counter() - start) * 1000.0
    log_id = uuid7()
    state.log(
        log_id,
        adapter,
        prompt,
        call.model,
        call.kwargs,
        response,
        None,
        None,
        created,
        latency,
        meta,
        tag_list,
    )
    return RunResult(
        response, log_id, prompt, adapter, call.model, latency, state.prices, call.spec
    )


async def run_async(
    po: AsyncClient,
    /,
    slug: str,
    variables: Mapping[str, Any] | None = None,
    *,
    provider: str | None = None,
    client: Any = None,
    provider_client: Any = None,
    version: int | None = None,
    fallback: Any = None,
    stream: bool = False,
    metadata: Mapping[str, Any] | None = None,
    tags: Sequence[str] | None = None,
    **overrides: Any,
) -> Any:
    """``AsyncClient.run``: as :func:`run_sync`, awaited; the provider client must be the
    library's async one (a ``google.genai.Client`` is used through ``.aio``). Returns a
    :class:`RunResult`, or an :class:`AsyncRunStream` with ``stream=True``."""
    if po._closed:
        raise ConfigurationError("this AsyncClient is closed")
    given = _given_client(client, provider_client)
    meta, tag_list = _checked_meta(metadata, tags)
    prompt = await po.get_prompt(slug, version, fallback)
    state = po._run_state or _state(po, True)
    call = _prepare(state, prompt, variables, provider, given, stream, overrides, meta, tag_list)
    adapter = call.adapter
    created = time.time()
    start = time.perf_counter()
    try:
        response = await adapter.acreate(call.client, call.kwargs, stream)
    except Exception as exc:
        latency = (time.perf_counter() - start) * 1000.0
        state.log(
            uuid7(),
            adapter,
            prompt,
            call.model,
            call.kwargs,
            None,
            None,
            exc,
            created,
            latency,
            meta,
            tag_list,
        )
        raise
    if stream:
        return AsyncRunStream(state, call, response, created, start)
    latency = (time.perf_counter() - start) * 1000.0
    log_id = uuid7()
    state.log(
        log_id,
        adapter,
        prompt,
        call.model,
        call.kwargs,
        response,
        None,
        None,
        created,
        latency,
        meta,
        tag_list,
    )
    return RunResult(
        response, log_id, prompt, adapter, call.model, latency, state.prices, call.spec
    )


# -- flush and counters (Client.flush / AsyncClient.flush / dropped_logs) ------------------


def flush_sync(po: Client, timeout: float | None) -> bool:
    state: _RunState | None = po._run_state
    if state is None:
        return True
    sender = state.sender
    assert isinstance(sender, ThreadSender)
    return sender.flush(timeout)


async def flush_async(po: AsyncClient, timeout: float | None) -> bool:  # noqa: ASYNC109
    state: _RunState | None = po._run_state
    if state is None:
        return True
    sender = state.sender
    assert isinstance(sender, TaskSender)
    return await sender.flush(timeout)


def log_stats(po: BaseClient) -> LogStats:
    state: _RunState | None = po._run_state
    if state is None:
        return LogStats(0, 0, 0, 0, 0, 0)
    return state.queue.stats()
