"""The request-log queue, record encoding, prices, and the sender's handling of server
answers (retry, split, drop, close), with ``httpx.MockTransport`` as the PromptOps server."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from openai.types.chat import ChatCompletion

import promptops
from promptops.sdk import log_sender, logging_queue, run
from promptops.sdk.logging_queue import LogEntry, LogQueue, LogSettings, encode_entry
from promptops.sdk.pricing import DEFAULT_PRICES, ModelPrice, PriceTable
from promptops.sdk.prompt import Prompt
from promptops.sdk.providers.base import get_provider

PROMPT = Prompt(slug="greeting", version=3, user_template="Hi {{name}}", environment="dev")
PROMPT_PAYLOAD = {
    "slug": "greeting",
    "version": 3,
    "environment": "dev",
    "system_prompt": "",
    "user_template": "Hi {{name}}",
    "model": "gpt-4o-mini",
    "temperature": 0.5,
    "max_tokens": None,
    "metadata": {},
}
COMPLETION = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "created": 1700000000,
    "model": "gpt-4o-mini",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "hello"},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {"prompt_tokens": 10, "completion_tokens": 20, "total_tokens": 30},
}


def entry(n: int = 0, **kw: Any) -> LogEntry:
    fields: dict[str, Any] = {
        "id": f"00000000-0000-4000-8000-{n:012d}",
        "created": 1_700_000_000.5,
        "provider": get_provider("openai"),
        "model": "gpt-4o-mini",
        "prompt": PROMPT,
        "kwargs": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
        "response": ChatCompletion.model_validate(COMPLETION),
        "chunks": None,
        "error": None,
        "error_body": None,
        "latency_ms": 12.5,
        "metadata": None,
        "tags": None,
    }
    fields.update(kw)
    return LogEntry(**fields)


def decoded(e: LogEntry, prices: PriceTable | None = None) -> dict[str, Any]:
    return dict(json.loads(encode_entry(e, prices or PriceTable.load())))


# -- the queue ---------------------------------------------------------------------------


def test_put_drops_the_oldest_past_the_bound_and_counts() -> None:
    queue = LogQueue(LogSettings(queue_size=3, batch_size=100))
    entries = [entry(i) for i in range(5)]
    for e in entries:
        queue.put(e)
    stats = queue.stats()
    assert (stats.queued, stats.overflowed, stats.dropped) == (3, 2, 2)
    assert [e.id for e in queue.take(10)] == [e.id for e in entries[2:]]
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4]


def test_the_sender_is_woken_once_when_a_batch_is_waiting() -> None:
    queue = LogQueue(LogSettings(queue_size=1000, batch_size=4))
    wakes: list[int] = []
    queue.wake = lambda: wakes.append(len(queue))
    for i in range(10):
        queue.put(entry(i))
    assert wakes == [4]
    # A small queue wakes at half its size, before it overflows.
    assert LogSettings(queue_size=6, batch_size=100).wake_at == 3


def test_flush_marks_cover_in_flight_and_dropped_records() -> None:
    queue = LogQueue(LogSettings(queue_size=2, batch_size=10))
    queue.put(entry(0))
    queue.put(entry(1))
    batch = queue.take(1)
    mark = queue.mark()
    assert not queue.done_through(mark)
    queue.put(entry(2))
    queue.put(entry(3))  # drops entry 1 (queued, not the one in flight)
    assert queue.stats().overflowed == 1
    assert not queue.done_through(mark)  # entry 0 is still in flight
    assert not queue.wait_done(mark, 0.01)
    queue.resolve(sent=len(batch), rejected=0)
    assert queue.done_through(mark)  # 0 sent, 1 dropped; 2 and 3 came after the mark
    assert not queue.done_through(queue.mark())


def test_abandon_closes_the_queue() -> None:
    queue = LogQueue(LogSettings(queue_size=10, batch_size=10))
    queue.put(entry(0))
    queue.take(1)
    queue.put(entry(1))
    assert queue.abandon() == 2
    queue.put(entry(2))  # after close: counted, not kept
    stats = queue.stats()
    assert (stats.queued, stats.in_flight, stats.abandoned, stats.dropped) == (0, 0, 3, 3)


def test_put_never_waits_for_the_sender() -> None:
    queue = LogQueue(LogSettings(queue_size=100, batch_size=10))
    done = threading.Event()

    def producer() -> None:
        for i in range(10_000):
            queue.put(entry(i))
        done.set()

    # The "sender" holds a batch in flight and never resolves it.
    queue.put(entry(-1))
    queue.take(1)
    thread = threading.Thread(target=producer)
    thread.start()
    assert done.wait(30)
    thread.join()
    assert queue.stats().overflowed == 10_000 - 100


# -- encoding ----------------------------------------------------------------------------


def test_record_fields() -> None:
    record = decoded(entry(metadata={"user": "u1"}, tags=["a"]))
    assert record == {
        "id": "00000000-0000-4000-8000-000000000000",
        "created_at": "2023-11-14T22:13:20.500000+00:00",
        "provider": "openai",
        "model": "gpt-4o-mini",
        "prompt_slug": "greeting",
        "prompt_version": 3,
        "environment": "dev",
        "request": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]},
        "response": COMPLETION,
        "status": "ok",
        "error": None,
        "latency_ms": 12.5,
        "input_tokens": 10,
        "output_tokens": 20,
        "cost_usd": pytest.approx((10 * 0.15 + 20 * 0.60) / 1e6),
        "metadata": {"user": "u1"},
        "tags": ["a"],
    }


def test_transport_arguments_are_not_logged() -> None:
    kwargs = {
        "model": "m",
        "messages": [],
        "extra_headers": {"Authorization": "secret"},
        "timeout": 3.0,
        "extra_body": {"x": 1},
    }
    assert decoded(entry(kwargs=kwargs))["request"] == {
        "model": "m",
        "messages": [],
        "extra_body": {"x": 1},
    }


def test_values_the_server_would_refuse_are_made_safe() -> None:
    class Custom:
        def __str__(self) -> str:
            return "custom!"

    record = decoded(
        entry(
            metadata={"nan": float("nan"), "inf": float("-inf"), "nul": "a\x00b", "obj": Custom()}
        )
    )
    assert record["metadata"] == {"nan": None, "inf": None, "nul": "a\ufffdb", "obj": "custom!"}
    lone = encode_entry(entry(metadata={"s": "x\udcff"}), PriceTable.load())
    assert json.loads(lone)["metadata"] == {"s": "x?"}


def test_a_huge_record_keeps_its_figures() -> None:
    big = {
        **COMPLETION,
        "choices": [
            {
                **COMPLETION["choices"][0],
                "message": {
                    "role": "assistant",
                    "content": "x" * (logging_queue.MAX_RECORD_BYTES + 10),
                },
            }
        ],
    }
    record = decoded(entry(response=ChatCompletion.model_validate(big)))
    assert record["response"]["promptops_truncated"] is True
    assert record["request"]["model"] == "gpt-4o-mini"
    assert (record["input_tokens"], record["output_tokens"]) == (10, 20)
    assert record["cost_usd"] is not None


def test_error_and_fallback_records() -> None:
    fallback = Prompt.from_fallback("greeting", None, "Hi")
    record = decoded(
        entry(
            prompt=fallback,
            response=None,
            error="APIError: boom",
            error_body={"message": "boom", "type": "server_error"},
        )
    )
    assert record["status"] == "error" and record["error"] == "APIError: boom"
    assert record["response"] == {"message": "boom", "type": "server_error"}
    assert record["prompt_version"] is None and record["environment"] is None
    assert (record["input_tokens"], record["cost_usd"]) == (None, None)


def test_an_unreadable_response_still_logs_the_call() -> None:
    class Broken:
        @property
        def usage(self) -> Any:
            raise RuntimeError("unreadable")

    record = decoded(entry(response=Broken()))  # the adapter cannot read it
    assert record["status"] == "ok"
    assert "could not serialize" in record["response"]["promptops_error"]
    assert record["request"] == {"model": "gpt-4o-mini"}


# -- prices ------------------------------------------------------------------------------


def test_price_lookup() -> None:
    table = PriceTable.load(environ={})
    assert table.price("gpt-4o-mini") == DEFAULT_PRICES["gpt-4o-mini"]
    assert table.price("gpt-4o-2024-08-06") == DEFAULT_PRICES["gpt-4o"]  # not gpt-4o-mini
    assert table.price("gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["gpt-4o-mini"]
    assert table.price("claude-3-5-haiku-20241022") == DEFAULT_PRICES["claude-3-5-haiku"]
    assert table.price("models/gemini-1.5-flash-002") == DEFAULT_PRICES["gemini-1.5-flash"]
    assert table.price("claude-3-5-haiku-latest") == DEFAULT_PRICES["claude-3-5-haiku"]
    assert table.price("gpt-4o-audio-preview") is None  # another model: no guess
    assert table.cost("no-such-model", 10, 10) is None
    assert table.cost("gpt-4o", None, None) is None
    assert table.cost("gpt-4o", 1_000_000, 1_000_000) == pytest.approx(12.5)


def test_price_sources_and_their_order(tmp_path: Any) -> None:
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"gpt-4o": [1, 2], "house-model": {"input": 3, "output": 4}}))
    table = PriceTable.load(
        {"house-model": [5, 6], "o1": None}, environ={"PROMPTOPS_PRICES": str(path)}
    )
    assert table.price("gpt-4o") == ModelPrice(1.0, 2.0)  # the file over the defaults
    assert table.price("house-model") == ModelPrice(5.0, 6.0)  # prices= over the file
    assert table.price("o1") is None  # removed
    assert PriceTable.load(str(path), environ={}).price("house-model") == ModelPrice(3.0, 4.0)


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ({"m": {"input": 1}}, "'m'"),
        ({"m": [1, 2, 3]}, "'m'"),
        ({"m": ["1", 2]}, "numbers >= 0"),
        ({"m": [1, float("inf")]}, "numbers >= 0"),
        ({"": [1, 2]}, "non-empty"),
        ([1, 2], "mapping"),
    ],
)
def test_bad_prices(prices: Any, message: str) -> None:
    with pytest.raises(promptops.ConfigurationError, match=message):
        PriceTable.load(prices, environ={})


def test_a_missing_price_file_is_named(tmp_path: Any) -> None:
    with pytest.raises(promptops.ConfigurationError, match="PROMPTOPS_PRICES"):
        PriceTable.load(environ={"PROMPTOPS_PRICES": str(tmp_path / "nope.json")})


# -- the sender against a scripted server --------------------------------------------------


class _Completions:
    def create(self, **kwargs: Any) -> ChatCompletion:
        return ChatCompletion.model_validate(COMPLETION)


class StubOpenAI:
    """Answers like openai.OpenAI would, without a network."""

    def __init__(self) -> None:
        self.chat = type("Chat", (), {"completions": _Completions()})()


class ScriptedServer:
    """The PromptOps API for a MockTransport: serves the prompt; answers log batches with
    ``answer(records, attempt)`` (status code)."""

    def __init__(self, answer: Callable[[list[dict[str, Any]], int], int]) -> None:
        self.answer = answer
        self.posts: list[bytes] = []
        self.stored: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            return httpx.Response(200, json=PROMPT_PAYLOAD)
        body = request.read()
        records = json.loads(body)["records"]
        with self._lock:
            self.posts.append(body)
            status = self.answer(records, len(self.posts))
            if status == 200:
                for record in records:
                    self.stored.setdefault(record["id"], record)
        return httpx.Response(status, json={"error": {"code": "x", "message": f"said {status}"}})


def scripted_client(server: ScriptedServer, **kw: Any) -> promptops.Client:
    kw.setdefault("log_flush_interval", 0.01)
    return promptops.Client(
        api_key="k", base_url="http://promptops.test", transport=httpx.MockTransport(server), **kw
    )


@pytest.fixture
def fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_sender, "BACKOFF_FIRST", 0.01)
    monkeypatch.setattr(log_sender, "BACKOFF_CAP", 0.05)


def test_failed_batches_are_resent_with_the_same_bytes(fast_backoff: None) -> None:
    server = ScriptedServer(lambda records, attempt: 503 if attempt <= 3 else 200)
    with scripted_client(server, log_flush_interval=60) as client:
        ids = [
            client.run("greeting", {"name": "Ada"}, client=StubOpenAI()).log_id for _ in range(3)
        ]
        assert client.flush(10)
        assert client.log_stats.sent == 3 and client.dropped_logs == 0
    assert len(server.posts) == 4 and len(set(server.posts)) == 1  # one body, four times
    assert sorted(server.stored) == sorted(ids)


def test_a_refused_record_is_isolated_and_dropped(fast_backoff: None) -> None:
    def answer(records: list[dict[str, Any]], attempt: int) -> int:
        return 422 if any((r["metadata"] or {}).get("bad") for r in records) else 200

    server = ScriptedServer(answer)
    with scripted_client(server, log_flush_interval=60) as client:
        stub = StubOpenAI()
        results = [
            client.run("greeting", {"name": "Ada"}, client=stub, metadata={"bad": i == 5})
            for i in range(8)
        ]
        assert client.flush(10)
        stats = client.log_stats
    assert (stats.sent, stats.rejected) == (7, 1)
    assert client.dropped_logs == 1
    assert set(server.stored) == {r.log_id for i, r in enumerate(results) if i != 5}


def test_a_key_that_may_not_log_drops_the_batch(fast_backoff: None) -> None:
    server = ScriptedServer(lambda records, attempt: 403)
    with scripted_client(server) as client:
        client.run("greeting", {"name": "Ada"}, client=StubOpenAI())
        assert client.flush(10)
        assert client.log_stats.rejected == 1
    assert len(server.posts) == 1  # not retried


def test_close_gives_up_after_its_timeout(
    fast_backoff: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(run, "CLOSE_TIMEOUT", 0.3)
    server = ScriptedServer(lambda records, attempt: 500)
    client = scripted_client(server)
    for _ in range(4):
        client.run("greeting", {"name": "Ada"}, client=StubOpenAI())
    assert not client.flush(0.2)
    client.close()
    stats = client.log_stats
    assert (stats.sent, stats.abandoned, client.dropped_logs) == (0, 4, 4)
    assert len(server.posts) > 1  # it kept retrying until then


def test_posts_are_bounded_in_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(log_sender, "MAX_BODY_BYTES", 4000)
    server = ScriptedServer(lambda records, attempt: 200)
    with scripted_client(server, log_flush_interval=60) as client:
        for _ in range(20):
            client.run(
                "greeting", {"name": "Ada"}, client=StubOpenAI(), metadata={"pad": "x" * 500}
            )
        assert client.flush(10)
    assert len(server.stored) == 20
    assert len(server.posts) > 2 and all(len(body) <= 4000 for body in server.posts)


def test_the_queue_is_bounded_by_bytes_too(caplog: pytest.LogCaptureFixture) -> None:
    """Large contexts: a byte bound drops the oldest (counted, one warning) long before the
    count bound is reached."""
    big = "x" * 1_000_000
    queue = LogQueue(LogSettings(queue_size=10_000, batch_size=100, max_bytes=5_000_000))
    entries = [
        entry(i, kwargs={"model": "m", "messages": [{"role": "user", "content": big}]})
        for i in range(20)
    ]
    with caplog.at_level("WARNING", logger="promptops"):
        for e in entries:
            queue.put(e)
    stats = queue.stats()
    assert 1_000_000 <= entries[0].size < 1_100_000
    assert stats.queued == 4 and stats.overflowed == 16 and stats.dropped == 16
    assert stats.queued_bytes <= 5_000_000
    assert [e.id for e in queue.take(100)] == [e.id for e in entries[16:]]
    assert queue.stats().queued_bytes == 0
    full = [r for r in caplog.records if "queue is full" in r.getMessage()]
    assert len(full) == 1


def test_a_huge_response_is_sized_without_walking_all_of_it() -> None:
    response = {"items": [{"text": "y" * 100} for _ in range(50_000)]}
    size = logging_queue.estimate_size(response)
    assert size > 1_000_000  # guessed from the part walked, not 0


def test_log_max_bytes_is_a_client_option() -> None:
    client = promptops.Client(api_key="k", log_max_bytes=1024)
    assert client._log_settings.max_bytes == 1024
    client.close()
    with pytest.raises(promptops.ConfigurationError, match="log_max_bytes"):
        promptops.Client(api_key="k", log_max_bytes=0)
