"""Client request shape and answer handling, with httpx.MockTransport (no server)."""

from __future__ import annotations

import json
import ssl
import sys
import threading
import time
import types
from typing import Any

import httpx
import pytest

import promptops
from promptops.sdk import _base
from tests.sdk.conftest import FakeClock

PAYLOAD: dict[str, Any] = {
    "slug": "greeting",
    "version": 3,
    "system_prompt": "",
    "user_template": "Hello {{name}}",
    "variables": ["name"],
    "model": "gpt-4o-mini",
    "temperature": 0.2,
    "max_tokens": 100,
    "metadata": {"team": "growth"},
    "commit_message": "tone",
    "author": "ada",
    "created_at": "2026-01-01T00:00:00Z",
    "environment": "production",
    "deployed_at": "2026-01-02T00:00:00Z",
    "deployment_id": 7,
}


class Recorder:
    """A MockTransport handler: answers from a queue of responses, records the requests."""

    def __init__(self, *responses: httpx.Response | Exception) -> None:
        self.responses = list(responses)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.pop(0) if len(self.responses) > 1 else self.responses[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


def ok(payload: dict[str, Any] | None = None, etag: str = '"v3"') -> httpx.Response:
    return httpx.Response(200, json=payload or PAYLOAD, headers={"ETag": etag})


def error(status: int, code: str, message: str, field: str | None = None) -> httpx.Response:
    detail = {"code": code, "message": message, **({"field": field} if field else {})}
    return httpx.Response(status, json={"error": detail})


def client_for(handler: Recorder, **kw: Any) -> promptops.Client:
    kw.setdefault("api_key", "po_test_key")
    kw.setdefault("base_url", "http://promptops.test/")
    return promptops.Client(transport=httpx.MockTransport(handler), **kw)


def test_request_shape() -> None:
    rec = Recorder(ok())
    with client_for(rec) as client:
        prompt = client.get_prompt("greeting")
    (request,) = rec.requests
    assert request.method == "GET"
    assert str(request.url) == "http://promptops.test/v1/prompts/greeting/active"
    assert request.headers["authorization"] == "Bearer po_test_key"
    assert request.headers["accept"] == "application/json"
    assert request.headers["user-agent"].startswith("promptops-python/")
    assert "if-none-match" not in request.headers
    assert request.extensions["timeout"] == {
        "connect": 1.0,
        "read": 2.0,
        "write": 2.0,
        "pool": 1.0,
    }
    assert prompt.environment == "production" and prompt.metadata == {"team": "growth"}
    assert prompt.temperature == 0.2 and prompt.max_tokens == 100 and prompt.deployment_id == 7
    # Empty system prompt: no system message.
    assert prompt.render(name="Ada") == [{"role": "user", "content": "Hello Ada"}]


def test_revalidation_sends_etag_and_pinned_url_is_quoted() -> None:
    clock = FakeClock()
    rec = Recorder(ok(), httpx.Response(304), ok({**PAYLOAD, "slug": "a b"}, etag='"x"'))
    with client_for(rec, clock=clock, background_refresh=False, timeout=5.0) as client:
        client.get_prompt("greeting")
        clock.advance(61)
        client.get_prompt("greeting")
        client.get_prompt("a b", version=2)
    assert rec.requests[1].headers["if-none-match"] == '"v3"'
    assert rec.requests[2].url.raw_path == b"/v1/prompts/a%20b/versions/2"
    assert "if-none-match" not in rec.requests[2].headers
    assert rec.requests[0].extensions["timeout"]["read"] == 5.0


def test_env_variables_and_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROMPTOPS_API_KEY", "from_env")
    monkeypatch.setenv("PROMPTOPS_BASE_URL", "http://env.test:9000")
    rec = Recorder(ok())
    with promptops.Client(transport=httpx.MockTransport(rec)) as client:
        client.get_prompt("greeting")
        assert client.base_url == "http://env.test:9000"
    assert rec.requests[0].headers["authorization"] == "Bearer from_env"
    assert str(rec.requests[0].url).startswith("http://env.test:9000/v1/")

    monkeypatch.delenv("PROMPTOPS_BASE_URL")
    with promptops.Client() as client:
        assert client.base_url == "http://127.0.0.1:8000"
        assert client._api_key == "from_env"

    monkeypatch.delenv("PROMPTOPS_API_KEY")
    with pytest.raises(promptops.ConfigurationError, match="PROMPTOPS_API_KEY"):
        promptops.Client()
    with pytest.raises(promptops.ConfigurationError, match="base_url"):
        promptops.Client(api_key="k", base_url="ftp://x")
    with pytest.raises(promptops.ConfigurationError, match="cache_ttl"):
        promptops.Client(api_key="k", cache_ttl=-1)


def test_ttl_is_per_client_instance() -> None:
    clock = FakeClock()
    rec = Recorder(ok())
    short = client_for(rec, clock=clock, cache_ttl=1.0, background_refresh=False)
    long = client_for(rec, clock=clock, cache_ttl=3600.0, background_refresh=False)
    short.get_prompt("greeting")
    long.get_prompt("greeting")
    clock.advance(2)
    short.get_prompt("greeting")
    long.get_prompt("greeting")
    assert len(rec.requests) == 3  # only the short-TTL client revalidated
    assert (short.cache_ttl, long.cache_ttl) == (1.0, 3600.0)


@pytest.mark.parametrize(
    ("status", "exc", "code"),
    [
        (401, promptops.AuthenticationError, "unauthenticated"),
        (403, promptops.PermissionDeniedError, "forbidden"),
        (404, promptops.PromptNotFoundError, "not_found"),
        (422, promptops.APIError, "validation_error"),
    ],
)
def test_error_statuses_raise_typed_errors(
    status: int, exc: type[promptops.APIError], code: str
) -> None:
    rec = Recorder(error(status, code, "the reason", field="slug"))
    with client_for(rec) as client, pytest.raises(exc) as caught:
        client.get_prompt("greeting", fallback="fallbacks are for unavailability only")
    err = caught.value
    assert (err.status_code, err.code, err.field, err.slug) == (status, code, "slug", "greeting")
    assert "the reason" in str(err) and "'greeting'" in str(err)
    assert isinstance(err, promptops.SDKError) and isinstance(err, promptops.PromptOpsError)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(500, json={"error": {"code": "internal_error", "message": "boom"}}),
        httpx.Response(503, text="<html>bad gateway</html>"),
        httpx.Response(429),
        httpx.Response(200, text="not json"),
        httpx.Response(200, json={"slug": "greeting"}),
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
    ],
    ids=["500", "503-html", "429", "200-not-json", "200-not-a-prompt", "timeout", "refused"],
)
def test_unavailability_serves_stale_then_fallback_then_raises(
    answer: httpx.Response | Exception,
) -> None:
    clock = FakeClock()
    rec = Recorder(ok(), answer)
    with client_for(rec, clock=clock, background_refresh=False) as client:
        client.get_prompt("greeting")
        clock.advance(61)
        stale = client.get_prompt("greeting")
        assert stale.is_stale and stale.version == 3
        fb = client.get_prompt("other", fallback={"user_template": "x", "model": "m"})
        assert fb.is_fallback and fb.slug == "other" and fb.model == "m"
        with pytest.raises(promptops.PromptUnavailableError) as caught:
            client.get_prompt("other")
        assert caught.value.slug == "other"
    assert len(rec.requests) == 2  # the misses above came during the backoff: no request


def test_backoff_doubles_up_to_the_ttl() -> None:
    """The wait after each failure is drawn (full jitter) under a ceiling that doubles from
    1 s up to the TTL."""
    clock = FakeClock()
    rec = Recorder(ok(), httpx.ConnectError("down"))
    with client_for(rec, clock=clock, cache_ttl=10, background_refresh=False) as client:
        client.get_prompt("greeting")
        clock.advance(11)
        waits = []
        for _ in range(12):
            before = len(rec.requests)
            while len(rec.requests) == before:
                failed_at = clock.now
                client.get_prompt("greeting")
                clock.advance(0.25)
            waits.append(client._backoff.until - failed_at)
    ceilings = [1, 2, 4, 8] + [10] * 8
    assert all(0 <= w <= top for w, top in zip(waits, ceilings, strict=True)), waits
    assert len(set(waits)) == len(waits)  # jittered, not a fixed schedule


def test_invalidate_is_exact() -> None:
    rec = Recorder(ok())
    with client_for(rec) as client:
        for slug in ("foo", "foobar", "fo"):
            client.get_prompt(slug)
        client.get_prompt("foo", version=2)
        assert client.invalidate("foo") == 2  # active and pinned entries of "foo" only
        assert set(client._entries) == {("foobar", None), ("fo", None)}
        assert client.invalidate() == 2
        assert not client._entries


def test_invalidate_during_a_fetch_does_not_store_the_old_answer() -> None:
    started, release = threading.Event(), threading.Event()

    def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        release.wait(5)
        return ok()

    client = promptops.Client(api_key="k", transport=httpx.MockTransport(handler))
    got: list[promptops.Prompt] = []
    reader = threading.Thread(target=lambda: got.append(client.get_prompt("greeting")))
    reader.start()
    assert started.wait(5)
    client.invalidate("greeting")  # e.g. a webhook announced a promotion meanwhile
    release.set()
    reader.join(5)
    assert got[0].version == 3  # the caller still gets its answer...
    assert ("greeting", None) not in client._entries  # ...but it is not cached
    client.close()


def test_background_refresh_runs_in_a_thread() -> None:
    clock = FakeClock()
    gate = threading.Event()
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(threading.current_thread().name)
        if len(calls) > 1:
            gate.wait(5)
            return ok({**PAYLOAD, "version": 4}, etag='"v4"')
        return ok()

    client = promptops.Client(api_key="k", transport=httpx.MockTransport(handler), clock=clock)
    client.get_prompt("greeting")
    clock.advance(61)
    t0 = time.perf_counter()
    assert client.get_prompt("greeting").version == 3  # does not wait for the refresh
    assert time.perf_counter() - t0 < 1.0
    gate.set()
    assert client.wait_for_refreshes(5)
    assert client.get_prompt("greeting").version == 4
    assert calls[1] == "promptops-refresh"
    client.close()


def test_fallback_validation() -> None:
    rec = Recorder(httpx.ConnectError("down"))
    with client_for(rec) as client:
        with pytest.raises(promptops.ConfigurationError, match="unknown field"):
            client.get_prompt("greeting", fallback={"user_templat": "typo"})
        with pytest.raises(promptops.ConfigurationError, match="must be a str"):
            client.get_prompt("greeting", fallback=42)
        proto = promptops.Prompt(slug="greeting", version=None, user_template="hi")
        assert client.get_prompt("greeting", fallback=proto).is_fallback


def test_bad_arguments() -> None:
    with client_for(Recorder(ok())) as client:
        bad: list[tuple[Any, Any]] = [("", None), (None, None), ("x", 0), ("x", "1"), ("x", True)]
        for slug, version in bad:
            with pytest.raises(promptops.ConfigurationError):
                client.get_prompt(slug, version)


def test_close_hooks_and_run_forwarding(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = types.ModuleType("promptops.sdk.run")
    fake.run_sync = lambda client, *a, **kw: ("sync", client, a, kw)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "promptops.sdk.run", fake)
    client = client_for(Recorder(ok()))
    assert client.run("greeting", x=1) == ("sync", client, ("greeting",), {"x": 1})
    order: list[str] = []
    client._on_close(lambda: order.append("hook"))
    client.close()
    assert order == ["hook"] and client._http.is_closed


def test_snapshot_ignores_foreign_and_corrupt_files(tmp_path: Any) -> None:
    snap = tmp_path / "s.json"
    with client_for(Recorder(ok()), snapshot_path=snap) as writer:
        writer.get_prompt("greeting")
    down = Recorder(httpx.ConnectError("down"))
    # Another key: the file is not served.
    with (
        client_for(down, api_key="other", snapshot_path=snap) as other,
        pytest.raises(promptops.PromptUnavailableError),
    ):
        other.get_prompt("greeting")
    # The same key: it is.
    with client_for(down, snapshot_path=snap) as same:
        assert same.get_prompt("greeting").is_stale
    snap.write_text("{not json")
    with (
        client_for(down, snapshot_path=snap) as broken,
        pytest.raises(promptops.PromptUnavailableError),
    ):
        broken.get_prompt("greeting")
    doc = {"format": 1, "owner": "x", "prompts": []}
    snap.write_text(json.dumps(doc))
    with client_for(Recorder(ok()), snapshot_path=snap) as rewriter:
        rewriter.get_prompt("greeting")
    assert json.loads(snap.read_text())["prompts"][0]["data"]["version"] == 3


def test_error_body_that_is_not_json() -> None:
    rec = Recorder(httpx.Response(404, text="Not Found"))
    with client_for(rec) as client, pytest.raises(promptops.PromptNotFoundError) as caught:
        client.get_prompt("greeting")
    assert "Not Found" in str(caught.value) and caught.value.code == "error"


def test_wait_seconds_follows_the_timeout() -> None:
    with client_for(Recorder(ok()), timeout=httpx.Timeout(3.0)) as client:
        assert client._wait_seconds() == 12.0
    with client_for(Recorder(ok()), timeout=httpx.Timeout(None)) as client:
        assert client._wait_seconds() == 60.0
    assert _base.DEFAULT_TIMEOUT.connect == 1.0


@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_async_request_shape_and_run_forwarding(
    anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    requests: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return ok()

    async def run_async(client: Any, *a: Any, **kw: Any) -> Any:
        return ("async", a)

    fake = types.ModuleType("promptops.sdk.run")
    fake.run_async = run_async  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "promptops.sdk.run", fake)
    async with promptops.AsyncClient(
        api_key="k", base_url="http://t", transport=httpx.MockTransport(handler)
    ) as client:
        prompt = await client.get_prompt("greeting")
        assert await client.run("greeting") == ("async", ("greeting",))
    assert prompt.version == 3
    assert requests[0].headers["authorization"] == "Bearer k"
    assert str(requests[0].url) == "http://t/v1/prompts/greeting/active"


def test_tls_verification_is_never_disabled() -> None:
    plain = _base.tls_verify("http://127.0.0.1:8000")
    assert isinstance(plain, ssl.SSLContext)
    assert plain.verify_mode == ssl.CERT_REQUIRED and plain.check_hostname
    assert _base.tls_verify("https://promptops.example") is True  # httpx's default (certifi)


def test_pinned_cache_size_caps_pinned_entries() -> None:
    rec = Recorder(ok())
    with client_for(rec, pinned_cache_size=2) as client:
        for v in (1, 2, 3):
            client.get_prompt("greeting", version=v)
        assert sorted(k[1] for k in client._entries if k[1] is not None) == [2, 3]
        client.get_prompt("greeting", version=1)  # evicted: fetched again
        assert len(rec.requests) == 4
    with pytest.raises(promptops.ConfigurationError, match="pinned_cache_size"):
        promptops.Client(api_key="k", pinned_cache_size=0)
