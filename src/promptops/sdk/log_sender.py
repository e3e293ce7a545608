"""The request-log sender: takes batches off a :class:`~promptops.sdk.logging_queue.LogQueue`
and ``POST``s them to ``/v1/logs``, off the request path.

- :class:`ThreadSender` (for ``Client``) is a daemon thread; :class:`TaskSender` (for
  ``AsyncClient``) an asyncio task on the loop of the first ``run()``. Each wakes when a batch
  is waiting, every ``log_flush_interval`` seconds, and on ``flush()``, then sends everything
  queued, in batches of ``log_batch_size`` records and at most :data:`MAX_BODY_BYTES` a POST.
- Network errors, timeouts, 5xx, 408, 425 and 429 are retried with exponential backoff
  (full jitter under a ceiling of :data:`BACKOFF_FIRST` doubling to :data:`BACKOFF_CAP`;
  :mod:`promptops._backoff`), re-sending the
  same bytes: record ids are client-made UUIDs, so nothing is stored twice.
- 400 / 413 / 422 split the batch in halves until the refused record is alone; it is dropped
  (counted ``rejected``, warned). 401 / 403 / 404 and other 4xx drop the batch.
- ``close()`` flushes for up to :data:`~promptops.sdk.logging_queue.CLOSE_TIMEOUT`, then
  stops; an ``atexit`` hook does the same for a client never closed (for ``AsyncClient``,
  whose loop is usually gone by then, with a synchronous HTTP client: :func:`send_now`).
"""

from __future__ import annotations

import abc
import asyncio
import atexit
import contextlib
import logging
import threading
import time
import weakref
from collections import deque
from typing import TYPE_CHECKING, Any, cast

import httpx

from promptops._backoff import Backoff
from promptops.sdk.logging_queue import (
    CLOSE_TIMEOUT,
    LogEntry,
    LogQueue,
    LogSettings,
    encode_entry,
)

if TYPE_CHECKING:
    from promptops.sdk._base import BaseClient
    from promptops.sdk.pricing import PriceTable

__all__ = [
    "BACKOFF_CAP",
    "BACKOFF_FIRST",
    "MAX_BODY_BYTES",
    "TaskSender",
    "ThreadSender",
    "send_now",
]

log = logging.getLogger("promptops")

LOGS_PATH = "/v1/logs"
MAX_BODY_BYTES = 512 * 1024  # per POST (the server's default limit is 1 MiB)
BACKOFF_FIRST = 0.5
BACKOFF_CAP = 30.0
_JSON_HEADERS = {"Content-Type": "application/json"}
_RETRY_STATUSES = frozenset({408, 425, 429})
_SPLIT_STATUSES = frozenset({400, 413, 422})


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _groups(entries: list[LogEntry], prices: PriceTable) -> deque[list[LogEntry]]:
    """``entries`` encoded, in POST-sized groups (by bytes; the count is already bounded)."""
    groups: deque[list[LogEntry]] = deque()
    group: list[LogEntry] = []
    size = 0
    for entry in entries:
        data = encode_entry(entry, prices)
        if group and size + len(data) + 1 > MAX_BODY_BYTES:
            groups.append(group)
            group, size = [], 0
        group.append(entry)
        size += len(data) + 1
    if group:
        groups.append(group)
    return groups


def _body(group: list[LogEntry]) -> bytes:
    return b'{"records":[' + b",".join(e.encoded or b"" for e in group) + b"]}"


def _action(status: int) -> str:
    if 200 <= status < 300:
        return "ok"
    if status >= 500 or status in _RETRY_STATUSES:
        return "retry"
    if status in _SPLIT_STATUSES:
        return "split"
    return "drop"


def _detail(response: httpx.Response) -> str:
    try:
        error = response.json()["error"]
        return f"HTTP {response.status_code} {error.get('code', '')}: {error.get('message', '')}"
    except Exception:
        return f"HTTP {response.status_code}: {response.text[:200]}"


class _Batch:
    """One batch being sent: its POST groups and the accounting, I/O-free."""

    def __init__(self, entries: list[LogEntry], prices: PriceTable) -> None:
        self.groups = _groups(entries, prices)
        self.sent = 0
        self.rejected = 0

    def next_body(self) -> bytes | None:
        return _body(self.groups[0]) if self.groups else None

    def unsent(self) -> list[LogEntry]:
        return [entry for group in self.groups for entry in group]

    def apply(self, action: str, detail: str, base_url: str) -> None:
        """Account for the answer to the first group (``retry`` leaves it in place)."""
        if action == "ok":
            self.sent += len(self.groups.popleft())
        elif action == "split":
            group = self.groups.popleft()
            if len(group) > 1:
                half = len(group) // 2
                self.groups.extendleft([group[half:], group[:half]])
            else:
                self.rejected += 1
                log.warning(
                    "PromptOps: the server refused log record %s (%s); dropped",
                    group[0].id,
                    detail,
                )
        elif action == "drop":
            count = len(self.groups.popleft())
            self.rejected += count
            log.warning(
                "PromptOps: %s refused %d log records (%s); dropped", base_url, count, detail
            )


# Senders to finish at interpreter exit, held weakly: atexit keeps what it is given for the
# life of the process, so it gets one module function instead of each sender's bound method
# (a client that is garbage-collected is freed with its sender).
_at_exit_senders: weakref.WeakSet[_SenderBase] = weakref.WeakSet()


def _finish_all_at_exit() -> None:
    for sender in list(_at_exit_senders):
        try:
            sender._at_exit()
        except Exception:  # pragma: no cover - never fail the interpreter's exit
            log.exception("PromptOps: sending the request log at exit failed")


atexit.register(_finish_all_at_exit)


class _SenderBase(abc.ABC):
    def __init__(self, client: BaseClient, queue: LogQueue, settings: LogSettings) -> None:
        self._client = client
        self._queue = queue
        self._settings = settings
        self._prices: PriceTable = client._prices
        self._backoff = Backoff(BACKOFF_FIRST, BACKOFF_CAP)
        self._stopping = False
        connect = client._timeout.connect
        self._timeout = httpx.Timeout(10.0, connect=connect if connect is not None else 5.0)
        self._exit_registered = False

    def _http(self) -> Any:
        """The client's shared HTTP client (``httpx.Client`` or ``AsyncClient``)."""
        return cast(Any, self._client)._http

    def _answer(
        self, response: httpx.Response | None, exc: BaseException | None
    ) -> tuple[str, str]:
        if response is None:
            assert exc is not None
            return "retry", _describe(exc)
        action = _action(response.status_code)
        return action, "" if action == "ok" else _detail(response)

    def _failed(self, detail: str) -> float:
        first = not self._backoff.failing
        delay = self._backoff.next()
        if first:
            log.warning(
                "PromptOps: cannot send request logs to %s (%s); retrying with backoff,"
                " keeping up to %d records in memory",
                self._client._base_url,
                detail,
                self._settings.queue_size,
            )
        return delay

    def _succeeded(self) -> None:
        if self._backoff.reset():
            log.info("PromptOps: request logs are being sent to %s again", self._client._base_url)

    def _register_exit(self) -> None:
        if not self._exit_registered:
            self._exit_registered = True
            _at_exit_senders.add(self)

    def _unregister_exit(self) -> None:
        if self._exit_registered:
            self._exit_registered = False
            _at_exit_senders.discard(self)

    @abc.abstractmethod
    def _at_exit(self) -> None:
        """Send what is left when the interpreter exits (each sender its own way)."""


class ThreadSender(_SenderBase):
    """The sender of a :class:`~promptops.Client`: one daemon thread, started on first use."""

    def __init__(self, client: BaseClient, queue: LogQueue, settings: LogSettings) -> None:
        super().__init__(client, queue, settings)
        self._wakeup = threading.Event()  # records waiting
        self._kick = threading.Event()  # flush / close: stop waiting out the backoff
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        queue.wake = self._wakeup.set

    def ensure_started(self) -> None:
        if self._thread is None:
            self._start()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is not None or self._stopping:
                return
            # The thread holds the sender weakly (see _thread_main): an unclosed client that
            # the application drops is freed, and its thread ends.
            thread = threading.Thread(
                target=_thread_main,
                args=(weakref.ref(self), self._wakeup, self._settings.flush_interval),
                name="promptops-logs",
                daemon=True,
            )
            self._thread = thread
            self._register_exit()
            thread.start()

    def _cycle(self) -> bool:
        """Send what is waiting; False once the sender is stopping."""
        if self._stopping:
            return False
        self._wakeup.clear()
        self._kick.clear()
        queue, http = self._queue, self._http()
        while not self._stopping:
            entries = queue.take(self._settings.batch_size)
            if not entries:
                break
            self._send(http, entries)
        return not self._stopping

    def _finish(self) -> None:
        count = self._queue.abandon()
        if count:
            log.warning("PromptOps: %d request-log records were not sent (client closed)", count)

    def _send(self, http: Any, entries: list[LogEntry]) -> None:
        batch = _Batch(entries, self._prices)
        try:
            while (body := batch.next_body()) is not None:
                try:
                    response = http.post(
                        LOGS_PATH, content=body, headers=_JSON_HEADERS, timeout=self._timeout
                    )
                except Exception as exc:  # transport errors, or our HTTP client closed
                    action, detail = self._answer(None, exc)
                else:
                    action, detail = self._answer(response, None)
                if action != "retry":
                    self._succeeded()
                    batch.apply(action, detail, self._client._base_url)
                    continue
                delay = self._failed(detail)
                if self._stopping:
                    return
                if self._kick.wait(delay):
                    self._kick.clear()
                if self._stopping:
                    return
        finally:
            self._queue.resolve(batch.sent, batch.rejected, batch.unsent())

    def flush(self, timeout: float | None) -> bool:
        mark = self._queue.mark()
        if self._queue.done_through(mark):
            return True
        self.ensure_started()
        self._kick.set()
        self._wakeup.set()
        return self._queue.wait_done(mark, timeout)

    def close(self, timeout: float = CLOSE_TIMEOUT) -> None:
        """Flush for up to ``timeout`` seconds, then stop the thread."""
        deadline = time.monotonic() + timeout
        if self._thread is not None or len(self._queue):
            self.flush(timeout)
        self._stop(max(0.1, deadline - time.monotonic()))
        self._unregister_exit()

    def _stop(self, join_timeout: float) -> None:
        with self._start_lock:
            self._stopping = True
            thread = self._thread
        self._kick.set()
        self._wakeup.set()
        if thread is not None:
            thread.join(join_timeout)
        else:
            self._queue.abandon()

    def _at_exit(self) -> None:
        self._exit_registered = False
        self.close(CLOSE_TIMEOUT)


class TaskSender(_SenderBase):
    """The sender of an :class:`~promptops.AsyncClient`: an asyncio task on the loop that
    first called ``run()`` (restarted on the current loop if that task is gone)."""

    def __init__(self, client: BaseClient, queue: LogQueue, settings: LogSettings) -> None:
        super().__init__(client, queue, settings)
        self._task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wakeup: asyncio.Event | None = None
        self._kick: asyncio.Event | None = None
        self._progress: asyncio.Event | None = None

    def ensure_started(self) -> None:
        task = self._task
        if (task is None or task.done()) and not self._stopping:
            self._start()

    def _start(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a stream finalized outside it): flush / exit send it
            return
        self._loop = loop
        self._wakeup, self._kick, self._progress = asyncio.Event(), asyncio.Event(), asyncio.Event()
        self._queue.wake = self._wakeup.set
        self._task = loop.create_task(self._run(), name="promptops-logs")
        self._register_exit()

    async def _run(self) -> None:
        assert self._wakeup is not None and self._kick is not None
        queue, wakeup, kick = self._queue, self._wakeup, self._kick
        try:
            while not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wakeup.wait(), self._settings.flush_interval)
                wakeup.clear()
                kick.clear()
                while not self._stopping:
                    entries = queue.take(self._settings.batch_size)
                    if not entries:
                        break
                    await self._send(entries)
        except asyncio.CancelledError:
            queue.requeue()  # a later flush, or the exit hook, sends it
            raise
        except Exception:  # pragma: no cover - a bug: never take the app down with it
            log.exception("PromptOps: the request-log sender failed")
        finally:
            if self._stopping:
                count = queue.abandon()
                if count:
                    log.warning(
                        "PromptOps: %d request-log records were not sent (client closed)", count
                    )
            self._notify()

    def _notify(self) -> None:
        if self._progress is not None:
            self._progress.set()

    async def _send(self, entries: list[LogEntry]) -> None:
        assert self._kick is not None
        http = self._http()
        batch = _Batch(entries, self._prices)
        while (body := batch.next_body()) is not None:
            try:
                response = await http.post(
                    LOGS_PATH, content=body, headers=_JSON_HEADERS, timeout=self._timeout
                )
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                action, detail = self._answer(None, exc)
            else:
                action, detail = self._answer(response, None)
            if action != "retry":
                self._succeeded()
                batch.apply(action, detail, self._client._base_url)
                continue
            delay = self._failed(detail)
            if self._stopping:
                break
            try:
                await asyncio.wait_for(self._kick.wait(), delay)
                self._kick.clear()
            except TimeoutError:
                pass
            if self._stopping:
                break
        self._queue.resolve(batch.sent, batch.rejected, batch.unsent())
        self._notify()

    async def flush(self, timeout: float | None) -> bool:  # noqa: ASYNC109
        queue = self._queue
        mark = queue.mark()
        if queue.done_through(mark):
            return True
        self.ensure_started()
        assert self._kick is not None and self._wakeup is not None and self._progress is not None
        self._kick.set()
        self._wakeup.set()
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        progress = self._progress
        while True:
            progress.clear()
            if queue.done_through(mark):
                return True
            remaining = None if deadline is None else deadline - loop.time()
            if remaining is not None and remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(progress.wait(), remaining)

    async def close(self, timeout: float = CLOSE_TIMEOUT) -> None:  # noqa: ASYNC109
        """Flush for up to ``timeout`` seconds, then stop the task."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self._task is not None or len(self._queue):
            await self.flush(timeout)
        self._stopping = True
        task = self._task
        if task is not None and not task.done() and task.get_loop() is loop:
            assert self._kick is not None and self._wakeup is not None
            self._kick.set()
            self._wakeup.set()
            _, pending = await asyncio.wait({task}, timeout=max(0.1, deadline - loop.time()))
            if pending:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        self._queue.abandon()
        self._unregister_exit()

    def _at_exit(self) -> None:
        """At interpreter exit the loop is usually gone: send what is left synchronously,
        with a fresh HTTP client (same ids: a copy already stored is not stored twice)."""
        self._exit_registered = False
        loop, task = self._loop, self._task
        if (
            loop is not None
            and task is not None
            and not task.done()
            and loop.is_running()
            and not loop.is_closed()
        ):
            with contextlib.suppress(Exception):
                future = asyncio.run_coroutine_threadsafe(self.close(CLOSE_TIMEOUT), loop)
                future.result(CLOSE_TIMEOUT + 1.0)
                return
        send_now(self._client, self._queue, self._prices, self._timeout, CLOSE_TIMEOUT)


def _thread_main(ref: weakref.ref[ThreadSender], wakeup: threading.Event, interval: float) -> None:
    """The body of a :class:`ThreadSender`'s thread: it holds the sender only while it sends,
    and ends when the sender stops or is garbage-collected."""
    try:
        while True:
            wakeup.wait(interval)
            sender = ref()
            if sender is None:
                return
            if not sender._cycle():
                sender._finish()
                return
            del sender
    except Exception:  # pragma: no cover - a bug: never take the app down with it
        log.exception("PromptOps: the request-log sender failed")
        if (sender := ref()) is not None:
            sender._finish()


def send_now(
    client: BaseClient,
    queue: LogQueue,
    prices: PriceTable,
    timeout: httpx.Timeout,
    budget: float,
) -> None:
    """Send everything unresolved in ``queue`` with a new synchronous HTTP client, retrying
    for up to ``budget`` seconds; the rest is abandoned."""
    from promptops.sdk._base import tls_verify

    entries = queue.take_all()
    if entries:
        deadline = time.monotonic() + budget
        batch = _Batch(entries, prices)
        backoff = Backoff(BACKOFF_FIRST, BACKOFF_CAP)
        with httpx.Client(
            base_url=client._base_url,
            headers=client._headers,
            timeout=timeout,
            verify=tls_verify(client._base_url),
        ) as http:
            while (body := batch.next_body()) is not None and time.monotonic() < deadline:
                try:
                    response = http.post(LOGS_PATH, content=body, headers=_JSON_HEADERS)
                    action = _action(response.status_code)
                    detail = "" if action == "ok" else _detail(response)
                except Exception as exc:
                    action, detail = "retry", _describe(exc)
                if action != "retry":
                    batch.apply(action, detail, client._base_url)
                    continue
                time.sleep(max(0.0, min(backoff.next(), deadline - time.monotonic())))
        queue.resolve(batch.sent, batch.rejected, batch.unsent())
    count = queue.abandon()
    if count:
        log.warning("PromptOps: %d request-log records were not sent before exit", count)
