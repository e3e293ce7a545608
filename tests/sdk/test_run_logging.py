"""Request logging of run() against a real PromptOps server: outages, the queue bound, flush,
close and exit, prices, metadata/tags, and the errors run() raises itself."""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path
from typing import Any

import pytest

import promptops
from promptops.sdk.providers.base import get_provider
from tests.fakes.providers import FakeProviderServer
from tests.sdk.conftest import Server
from tests.sdk.run_support import (  # fake_fixture, fake_providers_fixture: fixtures
    ECHO,
    INPUT_TOKENS,
    OUTPUT_TOKENS,
    VARIABLES,
    all_logs,
    eventually,
    fake_fixture,  # noqa: F401
    fake_providers_fixture,  # noqa: F401
    get_log,
    openai_client,
    po_async_client,
    po_client,
    wait_log,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def server_ids(server: Server) -> list[str]:
    return [e["id"] for e in all_logs(server.base_url, server.write_key)]


# -- outages and the queue bound -------------------------------------------------------


def test_server_down_then_restarted_the_logs_arrive(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        ids = [client.run("greeting", VARIABLES, client=oai).log_id]
        assert client.flush(10)
        server.stop()
        for _ in range(8):
            started = time.perf_counter()
            result = client.run("greeting", VARIABLES, client=oai)  # prompt from the cache
            assert time.perf_counter() - started < 1.0  # never waits for the log server
            assert result.text == ECHO
            ids.append(result.log_id)
        eventually(lambda: client._run_state.sender._backoff.failing, what="a failed send")
        assert not client.flush(0.2)  # nothing can be sent yet
        server.restart()
        assert client.flush(30)
        assert client.dropped_logs == 0
        assert client.log_stats.sent == 9
    assert sorted(server_ids(server)) == sorted(ids)


def test_queue_bound_drops_the_oldest_and_never_blocks(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server, log_queue_size=5) as client, openai_client(fake) as oai:
        client.get_prompt("greeting")
        server.stop()
        ids = []
        slowest = 0.0
        for _ in range(20):
            started = time.perf_counter()
            ids.append(client.run("greeting", VARIABLES, client=oai).log_id)
            slowest = max(slowest, time.perf_counter() - started)
        assert slowest < 1.0
        stats = client.log_stats
        assert stats.queued == 5  # the bound
        assert stats.overflowed == 20 - 5 - stats.in_flight
        assert client.dropped_logs == stats.overflowed > 0
        server.restart()
        assert client.flush(30)
        dropped = client.dropped_logs
    stored = set(server_ids(server))
    assert len(stored) == 20 - dropped
    # What survived: the batch that was in flight when the server went away (the oldest)
    # and the five newest; everything in between was dropped, oldest first.
    kept = [log_id in stored for log_id in ids]
    first_gap = kept.index(False)
    assert all(kept[:first_gap]) and not any(kept[first_gap:-5]) and all(kept[-5:])


def test_flush_and_close_send_the_rest(server: Server, fake: FakeProviderServer) -> None:
    client = po_client(server, log_flush_interval=60.0)  # the sender would wait a minute
    with openai_client(fake) as oai:
        first = [client.run("greeting", VARIABLES, client=oai).log_id for _ in range(3)]
        assert server_ids(server) == []
        assert client.flush(10)
        assert sorted(server_ids(server)) == sorted(first)
        rest = [client.run("greeting", VARIABLES, client=oai).log_id for _ in range(2)]
        client.close()
    assert sorted(server_ids(server)) == sorted(first + rest)
    assert client.dropped_logs == 0
    with pytest.raises(promptops.ConfigurationError, match="closed"):
        client.run("greeting", VARIABLES)


def test_a_garbage_collected_stream_is_logged(server: Server, fake: FakeProviderServer) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        stream = client.run("greeting", VARIABLES, client=oai, stream=True)
        next(stream)
        log_id = stream.log_id
        del stream
        gc.collect()
        assert client.flush(10)
    assert wait_log(server, log_id)["status"] == "ok"


_EXIT_SCRIPT = """
import asyncio, json, sys
import openai, promptops

base_url, key, fake_url, mode = sys.argv[1:5]
if mode == "sync":
    client = promptops.Client(api_key=key, base_url=base_url, log_flush_interval=60)
    oai = openai.OpenAI(api_key="sk", base_url=fake_url, max_retries=0)
    ids = [client.run("greeting", {"tone": "kind", "name": "Ada"}, client=oai).log_id
           for _ in range(3)]
else:
    async def main():
        client = promptops.AsyncClient(api_key=key, base_url=base_url, log_flush_interval=60)
        oai = openai.AsyncOpenAI(api_key="sk", base_url=fake_url, max_retries=0)
        return [(await client.run("greeting", {"tone": "kind", "name": "Ada"}, client=oai)).log_id
                for _ in range(3)]
    ids = asyncio.run(main())  # the loop ends with the sender task still waiting
print(json.dumps(ids), flush=True)
# no flush(), no close(): the atexit hook sends them
"""


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_exit_without_close_sends_the_logs(
    server: Server, fake: FakeProviderServer, mode: str
) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _EXIT_SCRIPT,
            server.base_url,
            server.read_key,
            fake.openai_base_url,
            mode,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode == 0, proc.stderr
    ids = json.loads(proc.stdout.strip().splitlines()[-1])
    assert sorted(server_ids(server)) == sorted(ids)


# -- async -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_async_logs_are_sent_by_a_task_on_the_loop(
    server: Server, fake: FakeProviderServer
) -> None:
    threads_before = {t.name for t in threading.enumerate()}
    async with po_async_client(server) as client:
        from tests.sdk.run_support import async_openai_client

        async with async_openai_client(fake) as oai:
            results = await asyncio.gather(
                *(client.run("greeting", VARIABLES, client=oai) for _ in range(5))
            )
        task = client._run_state.sender._task
        assert isinstance(task, asyncio.Task) and task.get_loop() is asyncio.get_running_loop()
        assert "promptops-logs" not in {t.name for t in threading.enumerate()} - threads_before

        def arrived() -> bool:
            return all(get_log(server, r.log_id) for r in results)

        # Without flush(): the task sends them within log_flush_interval.
        deadline = time.monotonic() + 15
        while not await asyncio.to_thread(arrived):
            assert time.monotonic() < deadline, "logs did not arrive"
            await asyncio.sleep(0.05)
    assert task.done()


# -- what is logged ----------------------------------------------------------------------


def test_prices_from_the_client_and_from_a_file(
    server: Server, fake: FakeProviderServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    price_file = tmp_path / "prices.json"
    price_file.write_text(json.dumps({"my-local-model": [1.0, 3.0], "gpt-4o-mini": None}))
    monkeypatch.setenv("PROMPTOPS_PRICES", str(price_file))
    with openai_client(fake) as oai:
        with po_client(server) as client:
            from_file = client.run("greeting", VARIABLES, client=oai, model="my-local-model")
            removed = client.run("greeting", VARIABLES, client=oai)  # gpt-4o-mini: no price
            unknown = client.run("greeting", VARIABLES, client=oai, model="mystery-1")
        with po_client(server, prices={"gpt-4o-mini": {"input": 2.0, "output": 5.0}}) as client:
            given = client.run("greeting", VARIABLES, client=oai)
    expect = {
        from_file.log_id: (INPUT_TOKENS * 1.0 + OUTPUT_TOKENS * 3.0) / 1e6,
        removed.log_id: None,
        unknown.log_id: None,
        given.log_id: (INPUT_TOKENS * 2.0 + OUTPUT_TOKENS * 5.0) / 1e6,
    }
    for log_id, cost in expect.items():
        entry = wait_log(server, log_id)
        assert entry["cost_usd"] == (pytest.approx(cost) if cost is not None else None)
        assert entry["input_tokens"] == INPUT_TOKENS  # tokens are logged either way
    assert from_file.cost_usd == pytest.approx(expect[from_file.log_id])


def test_bad_prices_are_refused_when_the_client_is_made(tmp_path: Path) -> None:
    with pytest.raises(promptops.ConfigurationError, match="'gpt-x'"):
        promptops.Client(api_key="k", prices={"gpt-x": {"input": -1, "output": 1}})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(promptops.ConfigurationError, match="not valid JSON"):
        promptops.Client(api_key="k", prices=str(bad))
    with pytest.raises(promptops.ConfigurationError, match="log_queue_size"):
        promptops.Client(api_key="k", log_queue_size=0)
    with pytest.raises(promptops.ConfigurationError, match="log_flush_interval"):
        promptops.Client(api_key="k", log_flush_interval=float("nan"))


def test_fallback_prompt_is_run_and_logged_without_a_version(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        server.stop()
        result = client.run(
            "brand-new",
            {"name": "Ada"},
            client=oai,
            fallback={"user_template": "Hi {{name}}", "model": "gpt-4o-mini"},
        )
        assert result.prompt.is_fallback and result.text == "echo: Hi Ada"
        server.restart()
        assert client.flush(30)
    entry = wait_log(server, result.log_id)
    assert (entry["prompt_slug"], entry["prompt_version"]) == ("brand-new", None)
    assert entry["environment"] == "dev"  # the key's


# -- errors of run() itself ---------------------------------------------------------------


class _Boom(Exception):
    pass


class _StubCompletions:
    def __init__(self, error: BaseException) -> None:
        self.error = error

    def create(self, **kwargs: Any) -> Any:
        raise self.error


class _StubOpenAI:
    def __init__(self, error: BaseException) -> None:
        self.chat = type("Chat", (), {"completions": _StubCompletions(error)})()


def test_the_provider_exception_object_reaches_the_caller(server: Server) -> None:
    error = _Boom("no route to the model")
    with po_client(server) as client:
        with pytest.raises(_Boom) as info:
            client.run("greeting", VARIABLES, provider="openai", client=_StubOpenAI(error))
        assert info.value is error
        assert client.flush(10)
    (entry,) = all_logs(server.base_url, server.write_key)
    assert entry["status"] == "error" and entry["error"] == "_Boom: no route to the model"


def test_bad_arguments_fail_before_any_provider_call(
    server: Server, fake: FakeProviderServer
) -> None:
    with po_client(server) as client, openai_client(fake) as oai:
        with pytest.raises(promptops.ConfigurationError, match="tag"):
            client.run("greeting", VARIABLES, client=oai, tags=["x" * 101])
        with pytest.raises(promptops.ConfigurationError, match="tags"):
            client.run("greeting", VARIABLES, client=oai, tags="not-a-list")
        with pytest.raises(promptops.ConfigurationError, match="metadata"):
            client.run("greeting", VARIABLES, client=oai, metadata=["x"])
        with pytest.raises(promptops.ConfigurationError, match="variables mapping"):
            client.run("greeting", client=oai, tone="kind", name="Ada")
        with pytest.raises(promptops.ConfigurationError, match="which provider"):
            client.run("greeting", VARIABLES, model="mystery-1")
        with pytest.raises(promptops.ConfigurationError, match="unknown provider"):
            client.run("greeting", VARIABLES, provider="mistral")
        with pytest.raises(promptops.ConfigurationError, match="client= or provider_client="):
            client.run("greeting", VARIABLES, client=oai, provider_client=object())
        with pytest.raises(promptops.ConfigurationError, match=r"openai\.OpenAI"):
            client.run("greeting", VARIABLES, provider="openai", client=object())
        with pytest.raises(promptops.MissingVariablesError):
            client.run("greeting", {"tone": "kind"}, client=oai)
    assert fake.requests == []
    assert client.log_stats.sent == 0


def test_a_missing_provider_library_names_the_extra(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    adapter = get_provider("anthropic")
    monkeypatch.setattr(adapter, "_module", None)
    monkeypatch.setitem(sys.modules, "anthropic", None)  # import anthropic → ImportError
    with po_client(server) as client, pytest.raises(promptops.ConfigurationError) as info:
        client.run("greeting", VARIABLES, provider="anthropic")
    assert "pip install 'promptops[anthropic]'" in str(info.value)
    assert isinstance(info.value.__cause__, ImportError)


def test_run_module_never_imports_provider_libraries_it_does_not_use() -> None:
    code = textwrap.dedent(
        """
        import sys, promptops
        from promptops.sdk import run
        from promptops.sdk.providers import get_provider
        get_provider("openai"); get_provider("gemini")
        bad = [m for m in ("openai", "anthropic", "google.genai") if m in sys.modules]
        assert not bad, bad
        """
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO, timeout=60)


def test_an_unclosed_client_that_is_dropped_is_freed(
    server: Server, fake: FakeProviderServer
) -> None:
    """Neither atexit nor the log-sender thread keeps a dropped client alive."""
    import weakref

    from promptops.sdk import log_sender

    with openai_client(fake) as oai:
        client = po_client(server)
        client.run("greeting", VARIABLES, client=oai)
        assert client.flush(10)
        sender = client._run_state.sender
        thread = sender._thread
        assert sender in log_sender._at_exit_senders
        ref, sender_ref = weakref.ref(client), weakref.ref(sender)
        del client, sender
        eventually(lambda: gc.collect() >= 0 and ref() is None, what="the client freed")
        assert sender_ref() is None
        assert all(s is not None for s in log_sender._at_exit_senders)
        thread.join(5)
        assert not thread.is_alive()
