"""``client.agents``: start runs of managed agents, read, list and cancel them, send input to
a waiting one, and wait for them to finish (``/v1/agents/{slug}/runs``, docs/agents.md).

Every call is written once, without I/O, as a generator (:class:`_Calls`): it yields what to
do (an ``httpx.Request`` to send, or a :class:`_Sleep`) and is sent back the response (or the
transport error); :class:`Agents` and :class:`AsyncAgents` only drive it, with ``httpx.Client``
and ``time.sleep`` or ``httpx.AsyncClient`` and ``asyncio.sleep``.

Waiting polls the run: first after 50 ms, the interval doubling up to ``poll_interval``
(1 s). Unavailability while waiting (network errors, 5xx, 408, 429) is retried with the same
backoff until the timeout; a definitive refusal (401, 403, 404) is raised at once. A run
that ends ``failed``, ``cancelled`` or ``timed_out`` is returned, not raised: read its
``status``, or call ``run.raise_for_status()``. Running out of ``timeout`` raises
:class:`AgentRunTimeoutError` (a ``TimeoutError``); the run goes on on the server.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Collection, Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from promptops._backoff import Backoff
from promptops.sdk._base import error_fields
from promptops.sdk.agent_run import FINISHED, RUN_STATUSES, AgentRun, AgentRunPage
from promptops.sdk.errors import (
    AgentNotFoundError,
    AgentRunTimeoutError,
    AgentUnavailableError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    InvalidResponseError,
    PermissionDeniedError,
    ServerError,
)

if TYPE_CHECKING:
    from promptops.sdk._base import BaseClient

__all__ = ["DEFAULT_WAIT_TIMEOUT", "Agents", "AsyncAgents"]

DEFAULT_WAIT_TIMEOUT = 300.0
FIRST_POLL = 0.05
_UNAVAILABLE = frozenset({408, 429})


@dataclass(frozen=True, slots=True)
class _Sleep:
    seconds: float


Op = httpx.Request | _Sleep
Answer = httpx.Response | httpx.TransportError | None
Call = Generator[Op, Answer, Any]


def _slug(slug: Any) -> str:
    if not isinstance(slug, str) or not slug:
        raise ConfigurationError(f"slug must be a non-empty str, not {slug!r}")
    return quote(slug, safe="")


def _run_id(run_id: Any) -> str:
    if not isinstance(run_id, str) or not run_id:
        raise ConfigurationError(f"run_id must be a non-empty str, not {run_id!r}")
    return quote(run_id, safe="")


def _positive_int(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise ConfigurationError(f"{name} must be a positive int or None, not {value!r}")


def _timeout(value: Any) -> float:
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or math.isnan(value)
        or value < 0
    ):
        raise ConfigurationError(f"timeout must be a number of seconds >= 0, not {value!r}")
    return float(value)


def _until(until: Collection[str]) -> frozenset[str]:
    if isinstance(until, str):
        until = (until,)
    wanted = frozenset(until)
    unknown = sorted(wanted - set(RUN_STATUSES))
    if not wanted or unknown:
        raise ConfigurationError(
            f"until must name run statuses ({', '.join(RUN_STATUSES)}), not {sorted(wanted)!r}"
        )
    return wanted


def _error(response: httpx.Response, what: str, slug: str) -> APIError:
    status = response.status_code
    code, message, field = error_fields(response)
    cls: type[APIError] = APIError
    if status == 401:
        cls = AuthenticationError
    elif status == 403:
        cls = PermissionDeniedError
    elif status == 404:
        cls = AgentNotFoundError
    elif status == 409:
        cls = ConflictError
    elif status >= 500:
        cls = ServerError
    return cls(f"{what}: {message}", status_code=status, code=code, field=field, slug=slug)


def _transient(answer: Answer) -> bool:
    if isinstance(answer, httpx.TransportError):
        return True
    assert answer is not None
    return answer.status_code >= 500 or answer.status_code in _UNAVAILABLE


class _Calls:
    """Each call of ``client.agents`` as a generator over :data:`Op`; no I/O here."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client

    # -- one request ----------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> httpx.Request:
        client = self._client
        if client._closed:
            raise ConfigurationError(f"this {type(client).__name__} is closed")
        return httpx.Request(
            method,
            client._base_url + path,
            json=json,
            params={k: v for k, v in (params or {}).items() if v is not None} or None,
            headers=client._headers,
            extensions={"timeout": client._timeout.as_dict()},
        )

    def _one(self, request: httpx.Request, what: str, slug: str) -> Call:
        """Send ``request`` once; its JSON body, or the error."""
        answer = yield request
        if isinstance(answer, httpx.TransportError):
            raise AgentUnavailableError(what, answer) from answer
        assert answer is not None
        if answer.is_success:
            try:
                return answer.json()
            except ValueError:
                raise InvalidResponseError(
                    f"{what}: the server answered {answer.status_code} with a body that is"
                    " not JSON",
                    status_code=answer.status_code,
                ) from None
        error = _error(answer, what, slug)
        if isinstance(error, ServerError):
            raise AgentUnavailableError(what, error) from error
        raise error

    # -- the calls ------------------------------------------------------------------------

    def start(
        self,
        slug: str,
        inputs: Mapping[str, Any] | None,
        version: int | None,
        idempotency_key: str | None,
        callback_url: str | None,
    ) -> Call:
        path = f"/v1/agents/{_slug(slug)}/runs"
        _positive_int("version", version)
        if inputs is not None and not isinstance(inputs, Mapping):
            raise ConfigurationError(f"inputs must be a mapping, not {type(inputs).__name__}")
        body: dict[str, Any] = {"inputs": dict(inputs or {})}
        for name, value in (("idempotency_key", idempotency_key), ("callback_url", callback_url)):
            if value is not None:
                if not isinstance(value, str) or not value:
                    raise ConfigurationError(f"{name} must be a non-empty str, not {value!r}")
                body[name] = value
        if version is not None:
            body["version"] = version
        what = f"starting a run of agent {slug!r}"
        started = yield from self._one(self._request("POST", path, json=body), what, slug)
        if not isinstance(started, dict) or not isinstance(started.get("run_id"), str):
            raise InvalidResponseError(f"{what}: no run_id in the answer", status_code=202)
        return started

    def run(
        self,
        slug: str,
        inputs: Mapping[str, Any] | None,
        *,
        version: int | None,
        idempotency_key: str | None,
        callback_url: str | None,
        wait: bool,
        timeout: float,
        poll_interval: float,
    ) -> Call:
        timeout = _timeout(timeout)
        deadline = time.monotonic() + timeout
        started = yield from self.start(slug, inputs, version, idempotency_key, callback_url)
        created = bool(started.get("created", True))
        if not wait:
            run = yield from self.get(slug, started["run_id"])
            return _with_created(run, created)
        run = yield from self.wait(
            slug, started["run_id"], FINISHED, timeout, poll_interval, deadline=deadline
        )
        return _with_created(run, created)

    def get(self, slug: str, run_id: str) -> Call:
        path = f"/v1/agents/{_slug(slug)}/runs/{_run_id(run_id)}"
        what = f"run {run_id} of agent {slug!r}"
        body = yield from self._one(self._request("GET", path), what, slug)
        return AgentRun.from_payload(body)

    def wait(
        self,
        slug: str,
        run_id: str,
        until: Collection[str],
        timeout: float,
        poll_interval: float,
        *,
        deadline: float | None = None,
    ) -> Call:
        """Poll the run until its status is in ``until`` or ``deadline`` passes."""
        wanted = _until(until)
        timeout = _timeout(timeout)
        if not isinstance(poll_interval, int | float) or not poll_interval > 0:
            raise ConfigurationError(f"poll_interval must be > 0, not {poll_interval!r}")
        if deadline is None:
            deadline = time.monotonic() + timeout
        path = f"/v1/agents/{_slug(slug)}/runs/{_run_id(run_id)}"
        what = f"run {run_id} of agent {slug!r}"
        polls = Backoff(FIRST_POLL, poll_interval, jitter=False)
        failures = Backoff(FIRST_POLL, poll_interval)  # full jitter: clients spread out
        last: AgentRun | None = None
        cause: BaseException | None = None
        while True:
            answer = yield self._request("GET", path)
            assert answer is not None
            if isinstance(answer, httpx.TransportError) or _transient(answer):
                cause = (
                    answer
                    if isinstance(answer, httpx.TransportError)
                    else _error(answer, what, slug)
                )
                delay = failures.next()
            elif not answer.is_success:
                raise _error(answer, what, slug)
            else:
                failures.reset()
                cause = None
                try:
                    last = AgentRun.from_payload(answer.json())
                except ValueError:
                    raise InvalidResponseError(
                        f"{what}: the answer is not JSON", status_code=answer.status_code
                    ) from None
                if last.status in wanted or (last.finished and not wanted <= FINISHED):
                    return last  # reached, or finished: it will not reach a waiting status
                delay = polls.next()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AgentRunTimeoutError(run_id, timeout, last, cause)
            yield _Sleep(min(delay, left))

    def list_runs(
        self,
        slug: str,
        status: str | None,
        version: int | None,
        limit: int,
        cursor: str | None,
    ) -> Call:
        if status is not None and status not in RUN_STATUSES:
            raise ConfigurationError(f"status must be one of {', '.join(RUN_STATUSES)}")
        _positive_int("version", version)
        _positive_int("limit", limit)
        params = {"status": status, "version": version, "limit": limit, "cursor": cursor}
        request = self._request("GET", f"/v1/agents/{_slug(slug)}/runs", params=params)
        body = yield from self._one(request, f"runs of agent {slug!r}", slug)
        if not isinstance(body, dict) or not isinstance(body.get("data"), list):
            raise InvalidResponseError(
                f"runs of agent {slug!r}: the answer is not a list of runs", status_code=200
            )
        runs = tuple(AgentRun.from_payload(r) for r in body["data"])
        cursor = body.get("next_cursor")
        return AgentRunPage(runs, cursor if isinstance(cursor, str) else None)

    def cancel(self, slug: str, run_id: str) -> Call:
        path = f"/v1/agents/{_slug(slug)}/runs/{_run_id(run_id)}/cancel"
        what = f"cancelling run {run_id} of agent {slug!r}"
        body = yield from self._one(self._request("POST", path), what, slug)
        return AgentRun.from_payload(body)

    def send_input(self, slug: str, run_id: str, value: Any) -> Call:
        path = f"/v1/agents/{_slug(slug)}/runs/{_run_id(run_id)}/input"
        what = f"input for run {run_id} of agent {slug!r}"
        body = yield from self._one(self._request("POST", path, json={"input": value}), what, slug)
        return AgentRun.from_payload(body)


def _with_created(run: AgentRun, created: bool) -> AgentRun:
    from dataclasses import replace

    return replace(run, created=created)


class Agents:
    """``Client.agents``: runs of the project's agents. See the module's docstring for how
    waiting, errors and finished-but-failed runs behave."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self._calls = _Calls(client)

    def _drive(self, call: Call) -> Any:
        http: httpx.Client = self._client._http  # type: ignore[attr-defined]
        try:
            op = next(call)
            while True:
                if isinstance(op, _Sleep):
                    time.sleep(op.seconds)
                    op = call.send(None)
                    continue
                try:
                    answer: Answer = http.send(op)
                except httpx.TransportError as exc:
                    answer = exc
                op = call.send(answer)
        except StopIteration as done:
            return done.value

    def run(
        self,
        slug: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float = 1.0,
    ) -> AgentRun:
        """Start a run of ``slug`` (the version active in the key's environment, or
        ``version``) with ``inputs``. ``wait=True``: return it once finished (whatever its
        status: see :meth:`AgentRun.raise_for_status`), or raise
        :class:`AgentRunTimeoutError` after ``timeout`` seconds. ``wait=False``: return it
        as it is just after starting. The same ``idempotency_key`` returns the same run
        (``run.created`` False); ``callback_url`` gets a signed POST of the finished run."""
        return self._drive(
            self._calls.run(
                slug,
                inputs,
                version=version,
                idempotency_key=idempotency_key,
                callback_url=callback_url,
                wait=wait,
                timeout=timeout,
                poll_interval=poll_interval,
            )
        )

    def get_run(self, slug: str, run_id: str) -> AgentRun:
        """The run with every step's status, input, output, error, tokens and cost."""
        return self._drive(self._calls.get(slug, run_id))

    def wait(
        self,
        slug: str,
        run_id: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        until: Collection[str] = FINISHED,
        poll_interval: float = 1.0,
    ) -> AgentRun:
        """Poll the run until its status is one of ``until`` (default: finished), e.g.
        ``until={"waiting"}`` before :meth:`send_input`; a run that finishes first is
        returned as it is. :class:`AgentRunTimeoutError` after ``timeout`` seconds."""
        call = self._calls.wait(slug, run_id, until, timeout, poll_interval)
        return self._drive(call)

    def list_runs(
        self,
        slug: str,
        *,
        status: str | None = None,
        version: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AgentRunPage:
        """Runs of ``slug``, newest first, without their steps; ``status`` and ``version``
        filter; ``cursor`` is the previous page's ``next_cursor``."""
        call = self._calls.list_runs(slug, status, version, limit, cursor)
        return self._drive(call)

    def cancel(self, slug: str, run_id: str) -> AgentRun:
        """Cancel an unfinished run (:class:`ConflictError` once it has finished)."""
        return self._drive(self._calls.cancel(slug, run_id))

    def send_input(self, slug: str, run_id: str, value: Any) -> AgentRun:
        """What the run's waiting ``wait`` step receives as its output (any JSON value);
        :class:`ConflictError` when the run is not waiting."""
        return self._drive(self._calls.send_input(slug, run_id, value))


class AsyncAgents:
    """``AsyncClient.agents``: :class:`Agents` with ``await``."""

    def __init__(self, client: BaseClient) -> None:
        self._client = client
        self._calls = _Calls(client)

    async def _drive(self, call: Call) -> Any:
        http: httpx.AsyncClient = self._client._http  # type: ignore[attr-defined]
        try:
            op = next(call)
            while True:
                if isinstance(op, _Sleep):
                    await asyncio.sleep(op.seconds)
                    op = call.send(None)
                    continue
                try:
                    answer: Answer = await http.send(op)
                except httpx.TransportError as exc:
                    answer = exc
                op = call.send(answer)
        except StopIteration as done:
            return done.value

    async def run(
        self,
        slug: str,
        inputs: Mapping[str, Any] | None = None,
        *,
        version: int | None = None,
        idempotency_key: str | None = None,
        callback_url: str | None = None,
        wait: bool = True,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109
        poll_interval: float = 1.0,
    ) -> AgentRun:
        """See :meth:`Agents.run`."""
        return await self._drive(
            self._calls.run(
                slug,
                inputs,
                version=version,
                idempotency_key=idempotency_key,
                callback_url=callback_url,
                wait=wait,
                timeout=timeout,
                poll_interval=poll_interval,
            )
        )

    async def get_run(self, slug: str, run_id: str) -> AgentRun:
        """See :meth:`Agents.get_run`."""
        return await self._drive(self._calls.get(slug, run_id))

    async def wait(
        self,
        slug: str,
        run_id: str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,  # noqa: ASYNC109
        until: Collection[str] = FINISHED,
        poll_interval: float = 1.0,
    ) -> AgentRun:
        """See :meth:`Agents.wait`."""
        call = self._calls.wait(slug, run_id, until, timeout, poll_interval)
        return await self._drive(call)

    async def list_runs(
        self,
        slug: str,
        *,
        status: str | None = None,
        version: int | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> AgentRunPage:
        """See :meth:`Agents.list_runs`."""
        call = self._calls.list_runs(slug, status, version, limit, cursor)
        return await self._drive(call)

    async def cancel(self, slug: str, run_id: str) -> AgentRun:
        """See :meth:`Agents.cancel`."""
        return await self._drive(self._calls.cancel(slug, run_id))

    async def send_input(self, slug: str, run_id: str, value: Any) -> AgentRun:
        """See :meth:`Agents.send_input`."""
        return await self._drive(self._calls.send_input(slug, run_id, value))
