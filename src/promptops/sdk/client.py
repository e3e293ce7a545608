"""``Client`` and ``AsyncClient``: the I/O halves of the SDK.

Everything but sending requests, waiting and starting background work is in
:class:`promptops.sdk._base.BaseClient`. Both clients keep ``_base_url``, ``_api_key``,
``_headers`` (Authorization included) and one shared ``httpx`` client in ``_http``, which
other SDK modules (``run()``, request logging) use too.

``run()`` is implemented in :mod:`promptops.sdk.run` as ``run_sync(client, ...)`` and
``run_async(client, ...)``; the methods here only forward to them, so that module can be
written without touching this one. Work that must happen at ``close()`` (flushing a logging
queue) is registered with :meth:`BaseClient._on_close`.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import logging
import os
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any

import httpx

from promptops.sdk._base import Action, BaseClient, Outcome, tls_verify
from promptops.sdk.agents import Agents, AsyncAgents
from promptops.sdk.cache import Entry, Flight, Key
from promptops.sdk.prompt import Prompt

__all__ = ["AsyncClient", "Client"]

log = logging.getLogger("promptops")


def _run_module() -> Any:
    return importlib.import_module("promptops.sdk.run")


class Client(BaseClient):
    """Synchronous PromptOps client. Thread-safe; share one per process.

    ``api_key`` / ``base_url`` default to ``PROMPTOPS_API_KEY`` / ``PROMPTOPS_BASE_URL``
    (then ``http://127.0.0.1:8000``). ``cache_ttl`` (seconds) is how long a read serves the
    cached value without asking the server; ``timeout`` defaults to 1 s to connect, 2 s to
    read; ``transport`` is handed to ``httpx.Client`` (e.g. ``httpx.MockTransport``);
    ``snapshot_path`` names a file that keeps the last good prompts across restarts;
    ``background_refresh=False`` revalidates expired entries inline instead of in the client's
    one refresher thread; ``ttl_jitter`` (0.1) shortens each entry's TTL by a random
    fraction up to it, so entries fetched together do not refresh together;
    ``clock`` replaces ``time.monotonic`` (tests); ``subscribe=True`` keeps the cache
    current from the server's live stream (reads never expire while it is connected);
    ``cache`` is a shared store (``promptops.receivers.RedisCache``/``MemoryCache``) that
    webhook receivers keep fresh, read on a local miss before the server (``environment``
    names whose active prompts to read; else learned from the first answer).
    ``log_queue_size``, ``log_batch_size``, ``log_flush_interval`` and ``prices`` configure
    the request log of :meth:`run` (docs/sdk.md, "Request logging").
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        cache_ttl: float = 60.0,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.BaseTransport | None = None,
        background_refresh: bool = True,
        snapshot_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        headers: dict[str, str] | None = None,
        subscribe: bool = False,
        cache: Any = None,
        environment: str | None = None,
        log_queue_size: int = 10_000,
        log_batch_size: int = 100,
        log_flush_interval: float = 1.0,
        log_max_bytes: int = 64 * 1024 * 1024,
        prices: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        ttl_jitter: float = 0.1,
        pinned_cache_size: int = 1000,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            cache_ttl=cache_ttl,
            timeout=timeout,
            background_refresh=background_refresh,
            snapshot_path=snapshot_path,
            clock=clock,
            headers=headers,
            cache=cache,
            environment=environment,
            log_queue_size=log_queue_size,
            log_batch_size=log_batch_size,
            log_flush_interval=log_flush_interval,
            log_max_bytes=log_max_bytes,
            prices=prices,
            ttl_jitter=ttl_jitter,
            pinned_cache_size=pinned_cache_size,
        )
        self._transport = transport
        self._http = self._new_http()
        # Background refreshes: one daemon thread per client, fed through this queue.
        self._refresh_cond = threading.Condition(threading.Lock())
        self._refresh_queue: deque[tuple[Key, Entry, Flight]] = deque()
        self._refresh_pending = 0
        self._refresher: threading.Thread | None = None
        #: Runs of the project's managed agents: see :class:`promptops.sdk.agents.Agents`.
        self.agents = Agents(self)
        if subscribe:
            self._start_subscription(transport)

    def _new_http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self._base_url,
            headers=self._headers,
            timeout=self._timeout,
            transport=self._transport,
            verify=tls_verify(self._base_url),
        )

    def _after_fork(self) -> None:
        # The parent's pool (its sockets) is left alone: not closed, not used.
        self._http = self._new_http()
        self._refresh_cond = threading.Condition(threading.Lock())
        self._refresh_queue = deque()
        self._refresh_pending = 0
        self._refresher = None
        super()._after_fork()

    # -- reading prompts ----------------------------------------------------------------

    def get_prompt(self, slug: str, version: int | None = None, fallback: Any = None) -> Prompt:
        """The prompt ``slug``: the version active in the API key's environment, or the
        pinned ``version``. Served from memory while fresh (no network call).

        ``fallback`` (a user-template string, a dict of :class:`Prompt` fields, or a
        ``Prompt``) is returned, flagged ``is_fallback``, when the server is unavailable and
        nothing is cached; without it that case raises ``PromptUnavailableError``.
        """
        # The hit path: one dict get, one clock call, one comparison.
        entry = self._entries.get((slug, version))
        if entry is not None and entry.expires > self._clock():
            return entry.prompt
        return self._get_slow(slug, version, fallback)

    def _get_slow(self, slug: str, version: int | None, fallback: Any) -> Prompt:
        key = self._key(slug, version)
        if self._store is not None and (stored := self._from_store(key)) is not None:
            return stored.prompt
        action, entry, flight = self._plan(key, threading.Event)
        if action is Action.SERVE:
            assert entry is not None
            return entry.prompt
        if action is Action.UNAVAILABLE:
            return self._finish(key, self._during_backoff(key, entry), fallback)
        assert flight is not None
        if action is Action.WAIT:
            flight.event.wait(self._wait_seconds())
            return self._finish(key, flight.outcome, fallback)
        if action is Action.BACKGROUND:
            assert entry is not None
            self._start_background(key, entry, flight)
            return entry.prompt
        return self._finish(key, self._fetch(key, entry, flight), fallback)

    def _fetch(self, key: Key, entry: Entry | None, flight: Flight) -> Outcome:
        """One HTTP request for ``key``; always ends ``flight``."""
        outcome: Outcome | None = None
        try:
            prior = self._prior(key, entry)
            request = self._build_request(key, prior)
            try:
                response = self._http.send(request)
            except httpx.TransportError as exc:
                outcome = self._apply(key, flight, prior, None, exc)
            else:
                outcome = self._apply(key, flight, prior, response)
        finally:
            self._cache.finish(flight, outcome)
            flight.event.set()
        assert outcome is not None
        if outcome.snapshot_changed and self._snapshot is not None:
            self._snapshot.write()
        return outcome

    def _start_background(self, key: Key, entry: Entry, flight: Flight) -> None:
        """Hand the refresh to the client's one refresher thread (started on first use).
        A key is queued at most once at a time: its flight is the de-duplication."""
        with self._refresh_cond:
            self._refresh_pending += 1
            self._refresh_queue.append((key, entry, flight))
            if self._refresher is None or not self._refresher.is_alive():
                self._refresher = threading.Thread(
                    target=_refresher_main,
                    args=(weakref.ref(self), self._refresh_cond, self._refresh_queue),
                    name="promptops-refresh",
                    daemon=True,
                )
                self._refresher.start()
            self._refresh_cond.notify()

    def _background(self, key: Key, entry: Entry, flight: Flight) -> None:
        try:
            self._log_background(key, self._fetch(key, entry, flight))
        except Exception:
            if not self._closed:
                log.exception("PromptOps: background refresh of %r failed", key)
        finally:
            with self._refresh_cond:
                self._refresh_pending -= 1
                self._refresh_cond.notify_all()

    def wait_for_refreshes(self, timeout: float | None = None) -> bool:
        """Block until background refreshes started so far have finished (True) or
        ``timeout`` passed (False). Useful in tests and before exit."""
        with self._refresh_cond:
            return self._refresh_cond.wait_for(lambda: self._refresh_pending == 0, timeout)

    # -- run() (implemented in promptops.sdk.run) ---------------------------------------

    def run(self, *args: Any, **kwargs: Any) -> Any:
        """Fetch, render, call the provider and log the exchange: see
        :func:`promptops.sdk.run.run_sync`."""
        return _run_module().run_sync(self, *args, **kwargs)

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Send the request logs queued so far: True once every one was sent (or dropped),
        False if ``timeout`` seconds passed first (the rest stay queued)."""
        return bool(_run_module().flush_sync(self, timeout))

    # -- lifecycle ----------------------------------------------------------------------

    def close(self) -> None:
        """Run close hooks, wait briefly for background refreshes, close the HTTP client.
        Cached prompts stay readable; reads that need the network raise."""
        if self._closed:
            return
        for hook in self._close_hooks:
            try:
                hook()
            except Exception:
                log.exception("PromptOps: a close hook failed")
        self._closed = True
        self.wait_for_refreshes(self._wait_seconds())
        with self._refresh_cond:
            self._refresh_cond.notify_all()  # the refresher thread ends
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _refresher_main(
    ref: weakref.ref[Client],
    cond: threading.Condition,
    jobs: deque[tuple[Key, Entry, Flight]],
) -> None:
    """The refresher thread: runs queued refreshes one by one; ends when the client is
    closed or garbage-collected (it holds the client only while refreshing)."""
    while True:
        with cond:
            while not jobs:
                cond.wait(1.0)
                client = ref()
                if client is None or (client._closed and not jobs):
                    return
                del client
            job = jobs.popleft()
        client = ref()
        if client is None:
            return
        client._background(*job)
        del client


class AsyncClient(BaseClient):
    """The asyncio twin of :class:`Client`: same arguments, ``await client.get_prompt(...)``.

    Background revalidation runs as an asyncio task. Use one instance per event loop.
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        cache_ttl: float = 60.0,
        timeout: float | httpx.Timeout | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        background_refresh: bool = True,
        snapshot_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        headers: dict[str, str] | None = None,
        subscribe: bool = False,
        cache: Any = None,
        environment: str | None = None,
        log_queue_size: int = 10_000,
        log_batch_size: int = 100,
        log_flush_interval: float = 1.0,
        log_max_bytes: int = 64 * 1024 * 1024,
        prices: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        ttl_jitter: float = 0.1,
        pinned_cache_size: int = 1000,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            cache_ttl=cache_ttl,
            timeout=timeout,
            background_refresh=background_refresh,
            snapshot_path=snapshot_path,
            clock=clock,
            headers=headers,
            cache=cache,
            environment=environment,
            log_queue_size=log_queue_size,
            log_batch_size=log_batch_size,
            log_flush_interval=log_flush_interval,
            log_max_bytes=log_max_bytes,
            prices=prices,
            ttl_jitter=ttl_jitter,
            pinned_cache_size=pinned_cache_size,
        )
        self._transport = transport
        self._http = self._new_http()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Runs of the project's managed agents: see :class:`promptops.sdk.agents.AsyncAgents`.
        self.agents = AsyncAgents(self)
        if subscribe:  # a thread: the stream never blocks the event loop
            self._start_subscription()

    def _new_http(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self._base_url,
            headers=self._headers,
            timeout=self._timeout,
            transport=self._transport,
            verify=tls_verify(self._base_url),
        )

    def _after_fork(self) -> None:
        self._http = self._new_http()
        self._tasks = set()
        super()._after_fork()

    # -- reading prompts ----------------------------------------------------------------

    async def get_prompt(
        self, slug: str, version: int | None = None, fallback: Any = None
    ) -> Prompt:
        """See :meth:`Client.get_prompt`."""
        entry = self._entries.get((slug, version))
        if entry is not None and entry.expires > self._clock():
            return entry.prompt
        return await self._get_slow(slug, version, fallback)

    async def _get_slow(self, slug: str, version: int | None, fallback: Any) -> Prompt:
        key = self._key(slug, version)
        if self._store is not None:  # a blocking store client: kept off the event loop
            stored = await asyncio.to_thread(self._from_store, key)
            if stored is not None:
                return stored.prompt
        action, entry, flight = self._plan(key, asyncio.Event)
        if action is Action.SERVE:
            assert entry is not None
            return entry.prompt
        if action is Action.UNAVAILABLE:
            return self._finish(key, self._during_backoff(key, entry), fallback)
        assert flight is not None
        if action is Action.WAIT:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(flight.event.wait(), self._wait_seconds())
            return self._finish(key, flight.outcome, fallback)
        if action is Action.BACKGROUND:
            assert entry is not None
            task = asyncio.get_running_loop().create_task(self._background(key, entry, flight))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            return entry.prompt
        return self._finish(key, await self._fetch(key, entry, flight), fallback)

    async def _fetch(self, key: Key, entry: Entry | None, flight: Flight) -> Outcome:
        outcome: Outcome | None = None
        try:
            prior = self._prior(key, entry)
            request = self._build_request(key, prior)
            try:
                response = await self._http.send(request)
            except httpx.TransportError as exc:
                outcome = self._apply(key, flight, prior, None, exc)
            else:
                outcome = self._apply(key, flight, prior, response)
        finally:
            self._cache.finish(flight, outcome)
            flight.event.set()
        assert outcome is not None
        if outcome.snapshot_changed and self._snapshot is not None:
            await asyncio.to_thread(self._snapshot.write)
        return outcome

    async def _background(self, key: Key, entry: Entry, flight: Flight) -> None:
        try:
            self._log_background(key, await self._fetch(key, entry, flight))
        except Exception:
            if not self._closed:
                log.exception("PromptOps: background refresh of %r failed", key)

    async def wait_for_refreshes(self, timeout: float | None = None) -> bool:  # noqa: ASYNC109
        """Wait until background refreshes started so far have finished (True) or
        ``timeout`` passed (False)."""
        tasks = list(self._tasks)
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=timeout)
        return not pending

    # -- run() (implemented in promptops.sdk.run) ---------------------------------------

    async def run(self, *args: Any, **kwargs: Any) -> Any:
        """See :func:`promptops.sdk.run.run_async`."""
        return await _run_module().run_async(self, *args, **kwargs)

    async def flush(self, timeout: float | None = 10.0) -> bool:  # noqa: ASYNC109
        """See :meth:`Client.flush`."""
        return bool(await _run_module().flush_async(self, timeout))

    # -- lifecycle ----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Run close hooks (awaiting coroutine results), wait briefly for background
        refreshes, close the HTTP client."""
        if self._closed:
            return
        for hook in self._close_hooks:
            try:
                result = hook()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("PromptOps: a close hook failed")
        self._closed = True
        if not await self.wait_for_refreshes(self._wait_seconds()):
            for task in list(self._tasks):
                task.cancel()
        await self._http.aclose()

    close = aclose

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
