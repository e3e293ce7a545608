"""Everything ``Client`` and ``AsyncClient`` share, without any I/O.

The split follows httpx's ``_client.py``: configuration, request building, response
interpretation and every cache decision live here; the two clients only send requests, wait,
and start background work (a thread or an asyncio task).

How a read is decided (``_plan``), once the lock-free hit path has missed:

- entry fresh (another thread just refreshed it)        → serve it
- server in backoff after a failure                     → serve the entry, flagged stale
                                                          (or the snapshot's; else fallback /
                                                          PromptUnavailableError), no network
- entry expired, no refresh running                     → background revalidation, serve the
                                                          old value at once (or revalidate
                                                          inline with background_refresh=False)
- entry expired, a refresh is already running           → serve the old value
- nothing cached, no fetch running                      → fetch now (one HTTP request)
- nothing cached, a fetch is running                    → wait for that fetch's outcome

and how an answer is applied (``_apply``):

- 200 → new entry (expires after ``cache_ttl * uniform(1 - ttl_jitter, 1)``; never for a
  pinned version), snapshot updated
- 304 → the entry is renewed for another ``cache_ttl`` without a body
- 404 / 401 / 403 / other 4xx → the entry is dropped and the error raised (404 also leaves
  the snapshot)
- network error, timeout, 5xx, 408, 429, undecodable 200 → backoff; the last good value is
  served flagged ``is_stale`` (warning logged once per prompt per outage)
"""

from __future__ import annotations

import logging
import math
import os
import random
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import quote

import httpx

from promptops import __version__
from promptops.sdk.cache import Backoff, Entry, Flight, Key, PromptCache
from promptops.sdk.errors import (
    APIError,
    AuthenticationError,
    ConfigurationError,
    InvalidResponseError,
    PermissionDeniedError,
    PromptNotFoundError,
    PromptUnavailableError,
    ServerError,
)
from promptops.sdk.logging_queue import LogSettings, LogStats
from promptops.sdk.pricing import PriceTable
from promptops.sdk.prompt import Prompt
from promptops.sdk.snapshot import Snapshot, owner_fingerprint

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "BaseClient", "Outcome", "tls_verify"]

log = logging.getLogger("promptops")

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT = httpx.Timeout(connect=1.0, read=2.0, write=2.0, pool=1.0)
USER_AGENT = f"promptops-python/{__version__}"

# Events whose prompt is an environment's active prompt (a snippet's move changes a
# dependent's served content: prompt_template_updated).
_LABEL_EVENTS = frozenset(
    {
        "prompt_template_label_moved",
        "prompt_template_label_change_approved",
        "prompt_template_updated",
    }
)

# Statuses that mean "the server cannot answer right now", not "the answer is no".
_UNAVAILABLE_STATUSES = frozenset({408, 429})


class Action(Enum):
    SERVE = "serve"
    BACKGROUND = "background"
    FETCH = "fetch"
    WAIT = "wait"
    UNAVAILABLE = "unavailable"


@dataclass(slots=True)
class Outcome:
    """What a fetch came to: a prompt to serve, an error to raise, or unavailability."""

    prompt: Prompt | None = None
    error: BaseException | None = None
    unavailable: BaseException | None = None
    snapshot_changed: bool = False


class BaseClient:
    """Configuration, cache and decisions shared by :class:`Client` and
    :class:`AsyncClient`."""

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        cache_ttl: float = 60.0,
        timeout: float | httpx.Timeout | None = None,
        background_refresh: bool = True,
        snapshot_path: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        headers: dict[str, str] | None = None,
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
        api_key = api_key if api_key is not None else os.environ.get("PROMPTOPS_API_KEY")
        if not api_key:
            raise ConfigurationError("no API key: pass api_key=... or set PROMPTOPS_API_KEY")
        base_url = base_url or os.environ.get("PROMPTOPS_BASE_URL") or DEFAULT_BASE_URL
        if not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(f"base_url must start with http:// or https://: {base_url!r}")
        if not isinstance(cache_ttl, int | float) or cache_ttl < 0 or math.isnan(cache_ttl):
            raise ConfigurationError(f"cache_ttl must be a number >= 0, not {cache_ttl!r}")
        if (
            not isinstance(ttl_jitter, int | float)
            or isinstance(ttl_jitter, bool)
            or not 0 <= ttl_jitter < 1
        ):
            raise ConfigurationError(f"ttl_jitter must be a number in [0, 1), not {ttl_jitter!r}")
        self._ttl_jitter = float(ttl_jitter)
        self._api_key = api_key
        self._base_url = base_url.rstrip("/")
        self._cache_ttl = float(cache_ttl)
        self._timeout = _timeout(timeout)
        self._background_refresh = background_refresh
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            **(headers or {}),
        }
        if (
            not isinstance(pinned_cache_size, int)
            or isinstance(pinned_cache_size, bool)
            or pinned_cache_size < 1
        ):
            raise ConfigurationError(
                f"pinned_cache_size must be an int >= 1, not {pinned_cache_size!r}"
            )
        self._cache = PromptCache(clock, pinned_cache_size)
        # The hit path reads these two attributes directly (no method call in between).
        self._entries = self._cache.entries
        self._clock = clock
        self._state_lock = threading.Lock()  # guards _backoff and _warned
        self._backoff = Backoff(first=1.0, cap=max(self._cache_ttl, 1.0))
        self._warned: set[Key] = set()
        self._snapshot = (
            Snapshot(snapshot_path, owner_fingerprint(self._base_url, api_key))
            if snapshot_path is not None
            else None
        )
        self._closed = False
        # subscribe=True: the live stream keeps the cache current (see sdk/subscription.py);
        # while it is connected, active prompts do not expire.
        self._live = False
        self._subscription: Any = None
        # cache=: a shared store (promptops.receivers: MemoryCache, RedisCache) that webhook
        # receivers keep fresh; read on a local miss before the server, written after a
        # fetch. Active prompts are stored per environment: given, or learned from answers.
        # The key decides the environment, always: ``environment=`` is only a claim,
        # checked against what the server reports for the key (the ``environment`` of an
        # active prompt it serves); a mismatch is a ConfigurationError. The store's active
        # entries are read only for the key's environment once the server has named it.
        if environment is not None and (not isinstance(environment, str) or not environment):
            raise ConfigurationError(f"environment must be a non-empty str, not {environment!r}")
        self._store = cache
        self._environment = environment
        self._key_environment: str | None = None
        self._misconfigured: ConfigurationError | None = None
        self._store_warned = False
        # Called (in order) by close()/aclose() before the HTTP client is closed; e.g. the
        # request-logging queue registers its flush here.
        self._close_hooks: list[Callable[[], Any]] = []
        # run() and request logging (promptops.sdk.run): settings checked now; the queue,
        # its sender and the provider clients are made by the first run().
        self._log_settings = LogSettings.build(
            log_queue_size, log_batch_size, log_flush_interval, log_max_bytes
        )
        self._prices = PriceTable.load(prices)
        self._run_state: Any = None
        self._transport: Any = None
        from promptops.sdk import _fork

        _fork.track(self)

    # -- public, I/O-free ---------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self._base_url

    @property
    def cache_ttl(self) -> float:
        return self._cache_ttl

    @property
    def dropped_logs(self) -> int:
        """Request-log records of ``run()`` that will never reach the server: dropped
        (oldest first) while the queue was full, refused by the server, or unsent at close.
        See :attr:`log_stats`."""
        state = self._run_state
        return 0 if state is None else int(state.queue.dropped)

    @property
    def log_stats(self) -> LogStats:
        """Counters of the request log: queued, in flight, sent, overflowed, rejected,
        abandoned."""
        state = self._run_state
        return LogStats(0, 0, 0, 0, 0, 0) if state is None else state.queue.stats()

    def invalidate(self, slug: str | None = None) -> int:
        """Forget the cached value(s) of ``slug`` (every version of it; exact match), or of
        every prompt. The next read fetches. Returns how many entries were dropped."""
        return self._cache.invalidate(slug)

    def _on_close(self, hook: Callable[[], Any]) -> None:
        """Register ``hook`` to run at ``close()`` (``aclose()`` awaits what it returns),
        before the HTTP client closes."""
        self._close_hooks.append(hook)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(base_url={self._base_url!r}, cache_ttl={self._cache_ttl},"
            f" cached={len(self._cache)})"
        )

    # -- requests and answers -----------------------------------------------------------

    def _key(self, slug: Any, version: Any) -> Key:
        if not isinstance(slug, str) or not slug:
            raise ConfigurationError(f"slug must be a non-empty str, not {slug!r}")
        if version is not None and (
            not isinstance(version, int) or isinstance(version, bool) or version < 1
        ):
            raise ConfigurationError(f"version must be a positive int or None, not {version!r}")
        return (slug, version)

    def _url(self, key: Key) -> str:
        slug, version = key
        if version is None:
            return f"{self._base_url}/v1/prompts/{quote(slug, safe='')}/active"
        return f"{self._base_url}/v1/prompts/{quote(slug, safe='')}/versions/{version}"

    def _build_request(self, key: Key, prior: Entry | None) -> httpx.Request:
        headers = self._headers
        if prior is not None and prior.etag and key[1] is None:
            headers = {**headers, "If-None-Match": prior.etag}
        return httpx.Request(
            "GET",
            self._url(key),
            headers=headers,
            extensions={"timeout": self._timeout.as_dict()},
        )

    def _prior(self, key: Key, entry: Entry | None) -> Entry | None:
        """What a fetch can revalidate: the cached entry, else the snapshot's."""
        if entry is None and self._snapshot is not None:
            return self._snapshot.get(key)
        return entry

    def _ttl(self, key: Key) -> float:
        return self._jittered_ttl() if key[1] is None and not self._live else math.inf

    def _jittered_ttl(self) -> float:
        """``cache_ttl * uniform(1 - ttl_jitter, 1)``: entries fetched together do not all
        expire (and refresh) together. Never longer than ``cache_ttl``."""
        jitter = self._ttl_jitter
        if not jitter:
            return self._cache_ttl
        return self._cache_ttl * (1.0 - jitter * random.random())

    # -- a shared store (cache=) ----------------------------------------------------------

    def _from_store(self, key: Key) -> Entry | None:
        """The store's value for ``key`` (kept fresh by webhooks), now cached locally."""
        slug, version = key
        if self._misconfigured is not None:
            raise self._misconfigured
        if version is None and self._key_environment is None:
            return None  # the server has not named the key's environment yet: ask it
        try:
            if version is None:
                payload = self._store.get(slug, environment=self._key_environment)
            else:
                payload = self._store.get(slug, version=version)
            prompt = Prompt.from_payload(payload) if payload is not None else None
        except Exception as exc:  # a store outage must not fail a read: ask the server
            self._store_failed("read", exc)
            return None
        if prompt is None:
            return None
        entry = Entry(prompt, self._clock() + self._ttl(key), None, payload)
        self._cache.store(key, entry)
        return entry

    def _learn_environment(self, environment: Any) -> ConfigurationError | None:
        """The server named the key's environment; a mismatching ``environment=`` is a
        configuration error (returned, and raised by every later read)."""
        if not isinstance(environment, str) or self._key_environment is not None:
            return self._misconfigured
        claimed = self._environment
        if claimed is not None and claimed != environment:
            self._misconfigured = ConfigurationError(
                f"environment={claimed!r}, but this API key reads the {environment!r}"
                " environment (the key decides): pass the key of the environment you want,"
                " or leave environment= out"
            )
            self._cache.invalidate()
            return self._misconfigured
        self._key_environment = environment
        return None

    def _to_store(self, payload: dict[str, Any]) -> None:
        try:
            self._store.set(payload)
        except Exception as exc:
            self._store_failed("write", exc)

    def _store_failed(self, what: str, exc: BaseException) -> None:
        if not self._store_warned:
            self._store_warned = True
            log.warning("PromptOps: cannot %s the shared prompt cache: %s", what, _describe(exc))

    # -- the live stream (subscribe=True) -------------------------------------------------

    @property
    def subscribed(self) -> bool:
        """True while the live stream is connected (reads then never expire)."""
        return self._live

    @property
    def subscription_error(self) -> APIError | None:
        """Why the live stream stopped for good (the key was refused: 401/403), else None.
        Reads then follow ``cache_ttl`` again."""
        if self._subscription is None:
            return None
        error: APIError | None = self._subscription.error
        return error

    def wait_until_subscribed(self, timeout: float = 5.0) -> bool:
        """Block until the live stream is connected (or ``timeout``); returns whether."""
        if self._subscription is None:
            return False
        return bool(self._subscription.connected.wait(timeout))

    def _start_subscription(self, transport: Any = None) -> None:
        from promptops.sdk.subscription import Subscription

        self._subscription = Subscription(self, transport).start()
        self._on_close(self._subscription.close)

    def _after_fork(self) -> None:
        """In a forked child: new locks, no inherited flights, the stream reconnected, the
        request log's queue and sender fresh (see sdk/_fork.py). Subclasses add the HTTP
        client and their background work."""
        self._state_lock = threading.Lock()
        self._cache._after_fork()
        old = self._subscription
        if old is not None and not self._closed:
            from promptops.sdk.subscription import Subscription

            self._stream_state(False)
            self._subscription = Subscription(self, old._transport).start()
            self._close_hooks = [
                self._subscription.close if hook == old.close else hook
                for hook in self._close_hooks
            ]
        if self._run_state is not None:
            self._run_state._after_fork(self)

    def _stream_state(self, live: bool, *, resumed: bool = False) -> None:
        """The stream connected (``live``) or dropped. Connected afresh (not resumed), what
        is cached may predate the stream, so active prompts revalidate on their next read;
        dropped, they go back to expiring after ``cache_ttl``."""
        now = self._clock()
        self._live = live
        for key, entry in list(self._entries.items()):
            if key[1] is not None:
                continue
            if live and not resumed:
                self._cache.store(key, entry.renewed(min(entry.expires, now)))
            elif not live and entry.expires == math.inf:
                self._cache.store(key, entry.renewed(now + self._jittered_ttl()))

    def _apply_stream_event(self, event_type: str, payload: Any) -> None:
        """A stream event: a moved label replaces the cached active prompt at once."""
        if event_type not in _LABEL_EVENTS or not isinstance(payload, dict):
            return
        data = payload.get("data")
        body = data.get("prompt") if isinstance(data, dict) else None
        if not isinstance(body, dict):
            return
        try:
            prompt = Prompt.from_payload(body)
        except (InvalidResponseError, ValueError, TypeError, KeyError):
            log.warning("PromptOps: ignoring a stream event with an unreadable prompt")
            return
        if self._learn_environment(prompt.environment) is not None:
            return
        key: Key = (prompt.slug, None)
        expires = math.inf if self._live else self._clock() + self._jittered_ttl()
        self._cache.push(key, Entry(prompt, expires, None, body))
        if self._snapshot is not None and self._snapshot.put(key, body, None):
            self._snapshot.write()

    def _apply(
        self,
        key: Key,
        flight: Flight | None,
        prior: Entry | None,
        response: httpx.Response | None,
        exc: BaseException | None = None,
    ) -> Outcome:
        """Turn a response (or a transport error) into an :class:`Outcome`, updating the
        cache, the backoff and the snapshot's contents (the caller writes the file)."""
        now = self._clock()
        if response is None:
            assert exc is not None
            return self._failed(key, flight, prior, exc, now)
        status = response.status_code
        if status == 304 and prior is not None:
            if key[1] is None and (bad_env := self._learn_environment(prior.prompt.environment)):
                return Outcome(error=bad_env)
            entry = prior.renewed(now + self._ttl(key))
            self._cache.store(key, entry, flight)
            self._recovered(key)
            return Outcome(prompt=entry.prompt)
        if 200 <= status < 300:
            try:
                payload = response.json()
                prompt = Prompt.from_payload(payload)
            except (ValueError, InvalidResponseError) as err:
                bad = InvalidResponseError(
                    f"GET {response.request.url.path} answered {status} with a body that is"
                    f" not a prompt: {err}",
                    status_code=status,
                )
                return self._failed(key, flight, prior, bad, now)
            if key[1] is None and (bad_env := self._learn_environment(prompt.environment)):
                return Outcome(error=bad_env)
            entry = Entry(prompt, now + self._ttl(key), response.headers.get("etag"), payload)
            self._cache.store(key, entry, flight)
            self._recovered(key)
            if self._store is not None:
                self._to_store(payload)
            changed = self._snapshot is not None and self._snapshot.put(key, payload, entry.etag)
            return Outcome(prompt=prompt, snapshot_changed=changed)
        error = _status_error(key, response)
        if status >= 500 or status in _UNAVAILABLE_STATUSES:
            return self._failed(key, flight, prior, error, now)
        # A definitive answer: the cached value must not be served any more.
        self._cache.evict(key)
        self._recovered(key)
        changed = status == 404 and self._snapshot is not None and self._snapshot.discard(key)
        return Outcome(error=error, snapshot_changed=changed)

    def _failed(
        self,
        key: Key,
        flight: Flight | None,
        prior: Entry | None,
        cause: BaseException,
        now: float,
    ) -> Outcome:
        with self._state_lock:
            until = self._backoff.failed(now, cause)
        return self._stale(key, flight, prior, cause, until)

    def _stale(
        self,
        key: Key,
        flight: Flight | None,
        prior: Entry | None,
        cause: BaseException,
        until: float,
    ) -> Outcome:
        """Serve the last good value (memory, else snapshot) flagged stale until ``until``,
        when the next attempt may be made. Logs one warning per prompt per outage."""
        entry = self._entries.get(key) or prior
        snapshot = self._snapshot.get(key) if self._snapshot is not None else None
        if entry is None:
            entry = snapshot
        if entry is None:
            return Outcome(unavailable=cause)
        stale = entry.renewed(until, stale=True)
        self._cache.store(key, stale, flight)
        if self._warn_once(key):
            log.warning(
                "PromptOps: serving %s version %s from %s (stale) because the server at %s"
                " is unavailable: %s",
                _name(key),
                stale.prompt.version,
                "the snapshot file" if entry is snapshot else "memory",
                self._base_url,
                _describe(cause),
            )
        return Outcome(prompt=stale.prompt)

    def _warn_once(self, key: Key) -> bool:
        with self._state_lock:
            if key in self._warned:
                return False
            self._warned.add(key)
            return True

    def _recovered(self, key: Key) -> None:
        with self._state_lock:
            ended = self._backoff.succeeded()
            if ended:
                self._warned.clear()
        if ended:
            log.info("PromptOps: the server at %s answers again", self._base_url)

    # -- decisions ----------------------------------------------------------------------

    def _plan(
        self, key: Key, make_event: Callable[[], Any]
    ) -> tuple[Action, Entry | None, Flight | None]:
        if self._closed:
            raise ConfigurationError(f"this {type(self).__name__} is closed")
        if self._misconfigured is not None:
            raise self._misconfigured
        now = self._clock()
        entry = self._entries.get(key)
        if entry is not None and entry.expires > now:
            return Action.SERVE, entry, None
        if self._backoff.active(now):
            return Action.UNAVAILABLE, entry, None
        flight, started = self._cache.begin(key, make_event)
        if not started:
            if entry is not None:
                return Action.SERVE, entry, None
            return Action.WAIT, None, flight
        if entry is not None and self._background_refresh:
            return Action.BACKGROUND, entry, flight
        return Action.FETCH, entry, flight

    def _during_backoff(self, key: Key, entry: Entry | None) -> Outcome:
        """A read while the server is left alone: stale value, else unavailability."""
        cause = self._backoff.cause or RuntimeError("the server is unavailable")
        return self._stale(key, None, entry, cause, self._backoff.until)

    def _finish(self, key: Key, outcome: Outcome | None, fallback: Any) -> Prompt:
        """The prompt to return for ``outcome``, or the error to raise."""
        if outcome is None:  # a waited-for fetch did not finish in time
            outcome = Outcome(unavailable=TimeoutError("a concurrent fetch did not finish"))
        if outcome.prompt is not None:
            return outcome.prompt
        if outcome.error is not None:
            raise outcome.error
        cause = outcome.unavailable or RuntimeError("unknown failure")
        if fallback is not None:
            prompt = Prompt.from_fallback(key[0], key[1], fallback)
            if self._warn_once(key):
                log.warning(
                    "PromptOps: returning the caller's fallback for %s: %s",
                    _name(key),
                    _describe(cause),
                )
            return prompt
        raise PromptUnavailableError(key[0], key[1], cause) from cause

    def _wait_seconds(self) -> float:
        """How long a reader waits for another reader's fetch of the same prompt."""
        t = self._timeout
        parts = [t.connect, t.read, t.write, t.pool]
        if any(p is None for p in parts):
            return 60.0
        return float(sum(p for p in parts if p is not None))

    def _log_background(self, key: Key, outcome: Outcome) -> None:
        if outcome.error is not None:
            log.warning(
                "PromptOps: %s was dropped from the cache on refresh: %s",
                _name(key),
                outcome.error,
            )


def tls_verify(base_url: str) -> ssl.SSLContext | bool:
    """What to pass as httpx's ``verify``.

    httpx loads the certifi bundle when a client is made (25-100 ms). For a plain-HTTP base
    URL (the usual self-hosted set-up) no certificate is ever checked, so the client gets a
    context that verifies (CERT_REQUIRED, hostname checks) but holds no CA: an ``https://``
    request sent through it by mistake fails instead of going unverified.
    """
    if base_url.startswith("http://"):
        return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    return True


def _timeout(timeout: float | httpx.Timeout | None) -> httpx.Timeout:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(float(timeout))


def _name(key: Key) -> str:
    slug, version = key
    return repr(slug) if version is None else f"{slug!r} (pinned version {version})"


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def error_fields(response: httpx.Response) -> tuple[str, str, str | None]:
    """(code, message, field) of an error answer's JSON body (``{"error": {...}}``), or of
    its status and text when the body is not that."""
    status = response.status_code
    code, message, field = "error", f"HTTP {status}", None
    try:
        body = response.json()
        detail = body["error"]
        code = str(detail.get("code", code))
        message = str(detail.get("message", message))
        field = detail.get("field")
    except (ValueError, KeyError, TypeError, AttributeError):
        text = response.text.strip()
        if text:
            message = f"{message}: {text[:200]}"
    return code, message, field


def _status_error(key: Key, response: httpx.Response) -> APIError:
    status = response.status_code
    code, message, field = error_fields(response)
    cls: type[APIError] = APIError
    if status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = PromptNotFoundError
    elif status >= 500:
        cls = ServerError
    return cls(f"{_name(key)}: {message}", status_code=status, code=code, field=field, slug=key[0])
