"""``Client(subscribe=True)``: keep the cache current from the server's live stream.

A daemon thread holds ``GET /v1/stream`` (Server-Sent Events) open and hands each event to
the client's I/O-free ``_apply_stream_event``: a label move in the key's environment
replaces the cached prompt at once, so while the stream is up a read never expires and
never waits. When the connection drops, the client falls back to TTL behaviour and the thread
reconnects (0.1 s plus a full-jitter backoff of up to 5 s: :mod:`promptops._backoff`) with
``Last-Event-ID``; the server replays every event since, so nothing is missed. A refusal
for good (401: the key is unknown or revoked; 403) ends the thread instead: the error is
kept in ``client.subscription_error`` and logged, and reads follow the TTL again. The same
thread serves ``AsyncClient`` (the cache is thread-safe), so no event loop is ever blocked
by it.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from promptops._backoff import Backoff
from promptops.sdk.errors import APIError, AuthenticationError, PermissionDeniedError

if TYPE_CHECKING:
    from promptops.sdk._base import BaseClient

__all__ = ["ServerSentEvent", "Subscription", "parse_sse", "sse_lines"]

_LINE_END = re.compile("\r\n|\r|\n")

log = logging.getLogger("promptops")

_READ_TIMEOUT = 45.0
_RECONNECT_FIRST = 0.1
_RECONNECT_CAP = 5.0  # the server sends a keep-alive comment every 15 s


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None


def sse_lines(chunks: Iterable[str]) -> Iterator[str]:
    """The lines of a ``text/event-stream`` from its decoded text chunks, split at CRLF, LF
    or CR only, as the SSE specification says (``str.splitlines`` and httpx's
    ``iter_lines`` also split at U+2028, U+0085 and others, which JSON data may hold)."""
    pending = ""
    for chunk in chunks:
        if not chunk:
            continue
        text = pending + chunk
        # A CR at the end may be the first half of a CRLF: wait for the next chunk.
        cut = len(text) - 1 if text.endswith("\r") else len(text)
        start = 0
        for match in _LINE_END.finditer(text, 0, cut):
            yield text[start : match.start()]
            start = match.end()
        pending = text[start:]
    if pending:
        yield from _LINE_END.split(pending.removesuffix("\r"))


def parse_sse(lines: Iterable[str]) -> Iterator[ServerSentEvent]:
    """Events from the lines of a ``text/event-stream`` (the WHATWG parsing rules)."""
    event, last_id = "", None
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                yield ServerSentEvent(event or "message", "\n".join(data), last_id)
            event, data = "", []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id" and "\0" not in value:
            last_id = value


class Subscription:
    def __init__(self, client: BaseClient, transport: httpx.BaseTransport | None = None) -> None:
        self._client = client
        self._transport = transport
        self._http = httpx.Client(
            base_url=client._base_url,
            headers={**client._headers, "Accept": "text/event-stream"},
            timeout=httpx.Timeout(connect=2.0, read=_READ_TIMEOUT, write=2.0, pool=2.0),
            transport=transport,
        )
        self._stop = threading.Event()
        self.connected = threading.Event()
        self.last_event_id: str | None = None
        # Set when the server refused the stream for good (401/403); the thread has ended.
        self.error: APIError | None = None
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="promptops-subscribe", daemon=True)

    def start(self) -> Subscription:
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            response.close()  # unblocks the reading thread
        self._thread.join(timeout=5)
        self._http.close()

    def _run(self) -> None:
        # Full jitter: when a server restarts, its clients reconnect spread over the window
        # instead of all at once (never sooner than 0.1 s). A connection that got to
        # "ready" resets the backoff.
        backoff = Backoff(_RECONNECT_FIRST, _RECONNECT_CAP)
        while not self._stop.is_set():
            try:
                if self._listen():
                    backoff.reset()
            except httpx.HTTPStatusError as exc:
                status = exc.response.status_code
                if status in (401, 403):
                    # The key is unknown, revoked or may not stream: retrying cannot help.
                    # The client goes back to TTL reads (which raise the same error).
                    self.error = _refusal(exc.response)
                    log.error("PromptOps: live stream stopped: %s", self.error)
                    self._set_live(False)
                    return
                log.warning("PromptOps: live stream refused (%s)", status)
                backoff.failures = max(backoff.failures, 8)  # straight to the cap
            except Exception as exc:
                if not self._stop.is_set():
                    log.debug("PromptOps: live stream dropped: %s", exc)
            finally:
                self._set_live(False)
            self._stop.wait(_RECONNECT_FIRST + backoff.next())

    def _listen(self) -> bool:
        """Read the stream until it ends; True if it got to "ready"."""
        ready = False
        headers = {"Last-Event-ID": self.last_event_id} if self.last_event_id else {}
        with self._http.stream("GET", "/v1/stream", headers=headers) as response:
            self._response = response
            if response.status_code >= 400:
                response.read()  # the error body names the problem
            response.raise_for_status()
            for sse in parse_sse(sse_lines(response.iter_text())):
                if self._stop.is_set():
                    return ready
                if sse.event == "ready":
                    ready = True
                    self._set_live(True, resumed=self.last_event_id is not None)
                    if self.last_event_id is None:
                        self.last_event_id = str(json.loads(sse.data)["last_event_id"])
                    continue
                self._client._apply_stream_event(sse.event, _json(sse.data))
                if sse.id is not None:
                    self.last_event_id = sse.id
        return ready

    def _set_live(self, live: bool, resumed: bool = False) -> None:
        if live == self.connected.is_set():
            return
        if live:
            self.connected.set()
        else:
            self.connected.clear()
        self._client._stream_state(live, resumed=resumed)


def _refusal(response: httpx.Response) -> APIError:
    status = response.status_code
    cls = AuthenticationError if status == 401 else PermissionDeniedError
    code, message = "http_error", f"HTTP {status}"
    try:
        detail = response.json()["error"]
        code, message = str(detail.get("code", code)), str(detail.get("message", message))
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    return cls(f"live stream: {message}", status_code=status, code=code)


def _json(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
