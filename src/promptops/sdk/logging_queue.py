"""Request logging off the request path: the records and the bounded in-memory queue.

``run()`` builds a :class:`LogEntry` (references only: the provider's response object, the
call's arguments, timings) and :meth:`LogQueue.put` s it: one short lock, a ``deque`` append,
no I/O, never a wait. Everything costly happens in the sender
(:mod:`promptops.sdk.log_sender`): turning responses into JSON (``model_dump``), merging stream
chunks, pricing and encoding (:func:`encode_entry`, here), and ``POST /v1/logs``.

- At most ``log_queue_size`` records, and about ``log_max_bytes`` (default 64 MiB, estimated
  by :func:`estimate_size`), wait (plus the batch being sent); past either the oldest is
  dropped and counted. Records that will never be sent (dropped, refused by the server, or
  still unsent when the client closes) are ``client.dropped_logs``.
- The sender is woken when ``log_batch_size`` records are waiting (or half the queue, if
  smaller); otherwise it looks every ``log_flush_interval`` seconds.
- ``flush()`` waits until every record queued before it was sent (or dropped): each record
  gets a sequence number, and the lowest one still unresolved must pass the mark.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from promptops.sdk.errors import ConfigurationError
from promptops.sdk.providers.base import to_json

if TYPE_CHECKING:
    from promptops.sdk.pricing import PriceTable
    from promptops.sdk.prompt import Prompt
    from promptops.sdk.providers.base import Provider

__all__ = [
    "CLOSE_TIMEOUT",
    "LogEntry",
    "LogQueue",
    "LogSettings",
    "LogStats",
    "encode_entry",
]

log = logging.getLogger("promptops")

CLOSE_TIMEOUT = 5.0  # seconds close() / exit spend sending what is left
MAX_RECORD_BYTES = 256 * 1024  # a bigger record keeps its figures, not its request/response
MAX_ERROR_CHARS = 10_000


# -- settings and records ----------------------------------------------------------------


DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class LogSettings:
    queue_size: int = 10_000
    batch_size: int = 100
    flush_interval: float = 1.0
    max_bytes: int = DEFAULT_MAX_BYTES

    @classmethod
    def build(
        cls,
        queue_size: Any,
        batch_size: Any,
        flush_interval: Any,
        max_bytes: Any = DEFAULT_MAX_BYTES,
    ) -> LogSettings:
        for name, value in (
            ("log_queue_size", queue_size),
            ("log_batch_size", batch_size),
            ("log_max_bytes", max_bytes),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ConfigurationError(f"{name} must be an int >= 1, not {value!r}")
        if batch_size > 1000:
            raise ConfigurationError(f"log_batch_size must be <= 1000, not {batch_size!r}")
        if (
            not isinstance(flush_interval, int | float)
            or isinstance(flush_interval, bool)
            or not math.isfinite(flush_interval)
            or flush_interval <= 0
        ):
            raise ConfigurationError(
                f"log_flush_interval must be a number of seconds > 0, not {flush_interval!r}"
            )
        return cls(queue_size, batch_size, float(flush_interval), max_bytes)

    @property
    def wake_at(self) -> int:
        """Queue length that wakes the sender before the interval is up."""
        return max(1, min(self.batch_size, self.queue_size // 2))


@dataclass(frozen=True, slots=True)
class LogStats:
    """Counters of a client's request log (records, since the client was made)."""

    queued: int  # waiting in memory
    in_flight: int  # taken by the sender, not yet acknowledged
    sent: int  # acknowledged by the server
    overflowed: int  # dropped because the queue was full (the oldest go first)
    rejected: int  # refused by the server (malformed, or the key may not log)
    abandoned: int  # still unsent when the client closed
    queued_bytes: int = 0  # estimated memory held by the queued records

    @property
    def dropped(self) -> int:
        """Records that will never reach the server."""
        return self.overflowed + self.rejected + self.abandoned


class LogEntry:
    """One call to log, as ``run()`` left it: references, no serialization yet."""

    __slots__ = (
        "chunks",
        "created",
        "encoded",
        "error",
        "error_body",
        "id",
        "kwargs",
        "latency_ms",
        "metadata",
        "model",
        "prompt",
        "provider",
        "response",
        "seq",
        "size",
        "status",
        "tags",
    )

    def __init__(
        self,
        id: str,
        created: float,
        provider: Provider,
        model: str,
        prompt: Prompt,
        kwargs: dict[str, Any],
        response: Any,
        chunks: list[Any] | None,
        error: str | None,
        error_body: Any,
        latency_ms: float,
        metadata: dict[str, Any] | None,
        tags: list[str] | None,
    ) -> None:
        self.id = id
        self.created = created
        self.provider = provider
        self.model = model
        self.prompt = prompt
        self.kwargs = kwargs
        self.response = response
        self.chunks = chunks
        self.status = "ok" if error is None else "error"
        self.error = error
        self.error_body = error_body
        self.latency_ms = latency_ms
        self.metadata = metadata
        self.tags = tags
        self.seq = 0
        self.encoded: bytes | None = None
        self.size = 0  # estimated bytes held (set by LogQueue.put)


_SIZE_NODES = 2000  # objects looked at per record, at most (the request path pays for it)
_NODE_BYTES = 64


def estimate_size(*values: Any) -> int:
    """A rough, cheap estimate of the memory ``values`` hold: string and bytes lengths plus
    a fixed cost per object, walking containers and objects' ``__dict__`` (pydantic models:
    the providers' responses) up to :data:`_SIZE_NODES` objects; the rest is guessed from
    the average so far. Not exact; it only has to keep an outage from holding gigabytes."""
    total, seen = 0, 0
    stack: list[Any] = list(values)
    while stack:
        value = stack.pop()
        seen += 1
        if seen > _SIZE_NODES:
            return total + (total // seen) * (len(stack) + 1)
        if isinstance(value, str | bytes | bytearray):
            total += len(value) + 49
        elif isinstance(value, dict):
            total += _NODE_BYTES + 8 * len(value)
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list | tuple | set | frozenset):
            total += _NODE_BYTES + 8 * len(value)
            stack.extend(value)
        elif isinstance(value, int | float | bool) or value is None:
            total += 28
        else:
            total += _NODE_BYTES
            attrs = getattr(value, "__dict__", None)
            if isinstance(attrs, dict):
                stack.extend(attrs.values())
    return total


def encode_entry(entry: LogEntry, prices: PriceTable) -> bytes:
    """The JSON record of ``entry`` for ``POST /v1/logs`` (computed once, then cached)."""
    if entry.encoded is not None:
        return entry.encoded
    try:
        record = _record(entry, prices)
    except Exception as exc:  # a response the adapter could not read: keep the figures
        log.warning("PromptOps: could not serialize the response of log %s: %r", entry.id, exc)
        record = _record(entry, prices, broken=exc)
    data = _dumps(record)
    if len(data) > MAX_RECORD_BYTES:
        marker = {"promptops_truncated": True, "record_bytes": len(data)}
        record["request"] = {"model": entry.model, **marker}
        record["response"] = marker
        data = _dumps(record)
    entry.encoded = data
    return data


def _record(entry: LogEntry, prices: PriceTable, broken: Exception | None = None) -> dict[str, Any]:
    provider = entry.provider
    input_tokens = output_tokens = None
    response: Any = None
    if broken is not None:
        response = {"promptops_error": f"could not serialize the response: {broken!r}"[:1000]}
    elif entry.chunks is not None:
        response = provider.merge(entry.chunks)
        input_tokens, output_tokens = provider.stream_usage(entry.chunks)
    elif entry.response is not None:
        raw = provider.dump_json(entry.response)
        response = RawJSON(raw) if raw is not None else provider.dump(entry.response)
        input_tokens, output_tokens = provider.usage(entry.response)
    elif entry.error_body is not None:
        response = provider.error_json(entry.error_body)
    prompt = entry.prompt
    request = (
        {"model": entry.model} if broken is not None else provider.logged_request(entry.kwargs)
    )
    return {
        "id": entry.id,
        "created_at": datetime.fromtimestamp(entry.created, UTC).isoformat(),
        "provider": provider.name,
        "model": entry.model,
        "prompt_slug": prompt.slug,
        "prompt_version": None if prompt.is_fallback else prompt.version,
        "environment": prompt.environment,
        "request": request,
        "response": response,
        "status": entry.status,
        "error": entry.error[:MAX_ERROR_CHARS] if entry.error is not None else None,
        "latency_ms": entry.latency_ms,
        "input_tokens": _count(input_tokens),
        "output_tokens": _count(output_tokens),
        "cost_usd": prices.cost(entry.model, input_tokens, output_tokens),
        "metadata": entry.metadata,
        "tags": entry.tags,
    }


def _count(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 2_147_483_647:
        return value
    return None


_encoder = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), default=to_json
)


class RawJSON(str):
    """JSON text (a response serialized by its own pydantic model) to embed as is."""

    __slots__ = ()


def _dumps(record: dict[str, Any]) -> bytes:
    """Strict JSON the server accepts: no NaN/infinity (→ null), no NUL (→ U+FFFD), no lone
    surrogates (→ ``?``)."""
    raw = record.get("response")
    if isinstance(raw, RawJSON):
        text = _encode({k: v for k, v in record.items() if k != "response"})
        text = f'{text[:-1]},"response":{raw}}}'
    else:
        text = _encode(record)
    if "\\u0000" in text:
        text = text.replace("\\u0000", "\\ufffd")
    return text.encode("utf-8", "replace")


def _encode(record: dict[str, Any]) -> str:
    try:
        return _encoder.encode(record)
    except (ValueError, TypeError):  # NaN / infinity, or keys that are not strings
        return _encoder.encode(_finite(to_json(record)))


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


# -- the queue ---------------------------------------------------------------------------


def _noop() -> None:
    return None


class LogQueue:
    """Bounded FIFO of :class:`LogEntry`, shared by ``run()`` (producers) and one sender.

    Every entry gets a sequence number; ``flush`` waits until the lowest unresolved number
    (in flight, else queued) passes the last one queued before it was called.
    """

    def __init__(self, settings: LogSettings) -> None:
        self._items: deque[LogEntry] = deque()
        # Re-entrant: a stream finalized by the garbage collector inside put() logs too.
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._maxsize = settings.queue_size
        self._max_bytes = settings.max_bytes
        self._bytes = 0  # estimated, of the queued entries (not the batch in flight)
        self._wake_at = settings.wake_at
        self._count = 0  # entries ever put: the next sequence number
        self._inflight: list[LogEntry] = []
        self._sent = 0
        self._overflowed = 0
        self._rejected = 0
        self._abandoned = 0
        self._closed = False
        self._overflow_warned = False
        # Called (without the lock) when the queue reaches the wake-up length.
        self.wake: Callable[[], None] = _noop

    # -- producers (the request path) ---------------------------------------------------

    def put(self, entry: LogEntry) -> None:
        """Queue ``entry``: O(1), never blocks on I/O; drops the oldest when full."""
        warn = False
        entry.size = estimate_size(entry.kwargs, entry.response, entry.chunks, entry.error_body)
        with self._lock:
            if self._closed:
                self._abandoned += 1
                return
            items = self._items
            while items and (
                len(items) >= self._maxsize or self._bytes + entry.size > self._max_bytes
            ):
                self._bytes -= items.popleft().size
                self._overflowed += 1
                if not self._overflow_warned:
                    self._overflow_warned = warn = True
                self._changed.notify_all()
            entry.seq = self._count
            self._count += 1
            items.append(entry)
            self._bytes += entry.size
            length = len(items)
        if length == self._wake_at:
            self.wake()
        if warn:
            log.warning(
                "PromptOps: the request-log queue is full (%d records or about %d MiB);"
                " dropping the oldest until the server accepts logs again"
                " (see client.dropped_logs)",
                self._maxsize,
                self._max_bytes // (1024 * 1024),
            )

    # -- the sender ---------------------------------------------------------------------

    def take(self, limit: int) -> list[LogEntry]:
        """Move up to ``limit`` of the oldest entries in flight (none may be in flight)."""
        with self._lock:
            items = self._items
            batch = [items.popleft() for _ in range(min(limit, len(items)))]
            self._bytes -= sum(e.size for e in batch)
            self._inflight = batch
            return batch

    def resolve(self, sent: int, rejected: int, unsent: list[LogEntry] | None = None) -> None:
        """The batch in flight is finished: ``sent`` stored, ``rejected`` refused; ``unsent``
        (a sender stopping mid-batch) stays in flight, for ``abandon`` or ``requeue``."""
        with self._lock:
            self._inflight = unsent or []
            self._sent += sent
            self._rejected += rejected
            if sent:
                self._overflow_warned = False
            self._changed.notify_all()

    def requeue(self) -> None:
        """Put the batch in flight back at the front (its sender is gone)."""
        with self._lock:
            self._items.extendleft(reversed(self._inflight))
            self._bytes += sum(e.size for e in self._inflight)
            self._inflight = []

    def take_all(self) -> list[LogEntry]:
        """Everything unresolved, oldest first, marked in flight (the exit fallback)."""
        with self._lock:
            batch = [*self._inflight, *self._items]
            self._items.clear()
            self._bytes = 0
            self._inflight = batch
            return batch

    def abandon(self) -> int:
        """Close the queue: whatever is unresolved is counted abandoned. Returns how many."""
        with self._lock:
            count = len(self._items) + len(self._inflight)
            self._items.clear()
            self._bytes = 0
            self._inflight = []
            self._abandoned += count
            self._closed = True
            self._changed.notify_all()
        return count

    # -- flush --------------------------------------------------------------------------

    def mark(self) -> int:
        """The sequence number that ``flush`` must see resolved (everything before it)."""
        with self._lock:
            return self._count

    def _floor(self) -> int:
        if self._inflight:
            return self._inflight[0].seq
        if self._items:
            return self._items[0].seq
        return self._count

    def done_through(self, mark: int) -> bool:
        with self._lock:
            return self._floor() >= mark

    def wait_done(self, mark: int, timeout: float | None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._floor() >= mark, timeout)

    # -- counters -----------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._items)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def dropped(self) -> int:
        return self._overflowed + self._rejected + self._abandoned

    def stats(self) -> LogStats:
        with self._lock:
            return LogStats(
                queued=len(self._items),
                in_flight=len(self._inflight),
                sent=self._sent,
                overflowed=self._overflowed,
                rejected=self._rejected,
                abandoned=self._abandoned,
                queued_bytes=self._bytes,
            )
