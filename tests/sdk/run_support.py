"""Helpers for the run() / request-logging tests: the fake LLM providers, provider clients
configured against them, PromptOps clients against the live server, and log lookups with
deadlines (never fixed sleeps)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import anthropic
import httpx
import openai
import pytest
from google import genai
from google.genai import types as genai_types

import promptops
from tests.fakes.providers import FakeProviderServer
from tests.sdk.conftest import Server
from tests.support import LiveServer

T = TypeVar("T")

VARIABLES = {"tone": "kind", "name": "Ada Lovelace"}
SYSTEM = "You are kind."  # the seeded version's system prompt, rendered
USER = "Hello Ada Lovelace"  # ... and its user template
ECHO = "echo: " + USER
RENDERED = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": USER}]
INPUT_TOKENS = 6  # the fake counts words: "You are kind." + "Hello Ada Lovelace"
OUTPUT_TOKENS = 4  # "echo: Hello Ada Lovelace"


class ServedFake:
    """A :class:`FakeProviderServer`'s app served by ``tests.support.LiveServer``.

    ``FakeProviderServer.start()`` hands uvicorn a socket made without ``IPPROTO_TCP``, so
    asyncio never sets ``TCP_NODELAY`` on its connections and every request on a kept-alive
    connection waits ~40 ms for a delayed ACK. Served this way the fake answers in ~1 ms;
    everything else (``requests``, ``fail_next``, ...) is the fake's own.
    """

    def __init__(self) -> None:
        self.fake = FakeProviderServer()
        self.live = LiveServer(self.fake.app).start()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fake, name)

    @property
    def base_url(self) -> str:
        return self.live.base_url

    @property
    def openai_base_url(self) -> str:
        return self.live.base_url + "/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.live.base_url

    @property
    def gemini_base_url(self) -> str:
        return self.live.base_url

    def stop(self) -> None:
        self.live.stop()


# Test modules import these two fixtures by their function names (the fixture names are
# ``fake_providers`` and ``fake``).
@pytest.fixture(scope="session", name="fake_providers")
def fake_providers_fixture() -> Iterator[FakeProviderServer]:
    served = ServedFake()
    try:
        yield served  # type: ignore[misc]
    finally:
        served.stop()


@pytest.fixture(name="fake")
def fake_fixture(fake_providers: FakeProviderServer) -> Iterator[FakeProviderServer]:
    fake_providers.reset()
    yield fake_providers
    fake_providers.reset()


def openai_client(fake: FakeProviderServer) -> openai.OpenAI:
    return openai.OpenAI(api_key="sk-test", base_url=fake.openai_base_url, max_retries=0)


def async_openai_client(fake: FakeProviderServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(api_key="sk-test", base_url=fake.openai_base_url, max_retries=0)


def anthropic_client(fake: FakeProviderServer) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="sk-ant-test", base_url=fake.anthropic_base_url, max_retries=0
    )


def async_anthropic_client(fake: FakeProviderServer) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        api_key="sk-ant-test", base_url=fake.anthropic_base_url, max_retries=0
    )


def gemini_client(fake: FakeProviderServer) -> genai.Client:
    return genai.Client(
        api_key="gemini-test",
        http_options=genai_types.HttpOptions(base_url=fake.gemini_base_url),
    )


def po_client(server: Server, **kw: Any) -> promptops.Client:
    """A PromptOps client with the application's read key (a read key may send logs)."""
    kw.setdefault("log_flush_interval", 0.05)
    return promptops.Client(api_key=server.read_key, base_url=server.base_url, **kw)


def po_async_client(server: Server, **kw: Any) -> promptops.AsyncClient:
    kw.setdefault("log_flush_interval", 0.05)
    return promptops.AsyncClient(api_key=server.read_key, base_url=server.base_url, **kw)


def eventually(check: Callable[[], T | None], timeout: float = 15.0, what: str = "") -> T:
    """Poll ``check`` until it returns something truthy or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what or check}")
        time.sleep(delay)
        delay = min(delay * 2, 0.2)


def get_log(server: Server, log_id: str) -> dict[str, Any] | None:
    r = server.api.as_(server.write_key).get(f"/v1/logs/{log_id}")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return dict(r.json())


def wait_log(server: Server, log_id: str, timeout: float = 15.0) -> dict[str, Any]:
    return eventually(lambda: get_log(server, log_id), timeout, f"log {log_id}")


def all_logs(base_url: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """Every log the key may read, newest first (all pages)."""
    out: list[dict[str, Any]] = []
    cursor = None
    with httpx.Client(base_url=base_url, timeout=30) as http:
        while True:
            query = {"limit": 200, **params}
            if cursor:
                query["cursor"] = cursor
            r = http.get("/v1/logs", params=query, headers={"Authorization": f"Bearer {key}"})
            assert r.status_code == 200, r.text
            body = r.json()
            out += body["data"]
            cursor = body["next_cursor"]
            if not cursor:
                return out


def assert_common(entry: dict[str, Any], provider: str, model: str) -> None:
    """Fields every successful log of the seeded prompt carries."""
    assert entry["provider"] == provider
    assert entry["model"] == model
    assert entry["prompt_slug"] == "greeting"
    assert entry["prompt_version"] == 1
    assert entry["environment"] == "dev"
    assert entry["status"] == "ok" and entry["error"] is None
    assert entry["latency_ms"] > 0
    assert entry["input_tokens"] == INPUT_TOKENS
    assert entry["output_tokens"] == OUTPUT_TOKENS
