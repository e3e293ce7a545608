"""``client.agents`` (Client and AsyncClient) against a real server with its embedded DBOS
engine, on SQLite and PostgreSQL: a prompt step through the official OpenAI library to the
fake provider, a `wait` step answered with ``send_input``, a failing http step, cancel,
listing, idempotency, and the refusals (unknown agent, read-only key, revoked key)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import anyio
import httpx
import pytest

import promptops
from promptops.sdk.agent_run import AgentRun
from tests.fakes.providers import FakeProviderServer
from tests.support import Api, LiveServer, Project

POLL = 0.2  # the SDK's longest poll interval here (the runs take a few tens of ms)
# The wait step of the agent the tests cancel gives up after HOLD seconds: the engine's thread
# of a cancelled run blocks in it until then, so a test lets that pass before the server
# (and its database) go away.
HOLD = 2


def _let_the_engine_finish() -> None:
    time.sleep(HOLD + 1)


@dataclass
class Setup:
    base_url: str
    api: Api
    project: Project
    read_key: str
    fake: FakeProviderServer

    def client(self, key: str | None = None) -> promptops.Client:
        return promptops.Client(api_key=key or self.project.key, base_url=self.base_url)

    def async_client(self, key: str | None = None) -> promptops.AsyncClient:
        return promptops.AsyncClient(api_key=key or self.project.key, base_url=self.base_url)

    def revoked_key(self) -> str:
        made = self.api.as_(self.project.key).post(
            "/v1/keys", json={"environment": "dev", "role": "write"}
        )
        assert made.status_code == 201, made.text
        prefix = made.json()["prefix"]
        assert self.api.as_(self.project.key).delete(f"/v1/keys/{prefix}").status_code == 200
        return str(made.json()["key"])


def _agent(api: Api, key: str, slug: str, workflow: dict[str, Any]) -> None:
    a = api.as_(key)
    assert a.post("/v1/agents", json={"slug": slug, "name": slug.title()}).status_code == 201
    r = a.post(f"/v1/agents/{slug}/versions", json=workflow)
    assert r.status_code == 201, r.text


@pytest.fixture
def setup(app: Any, admin_key: str) -> Iterator[Setup]:
    live = LiveServer(app).start()
    http = httpx.Client(base_url=live.base_url, timeout=10)
    try:
        with FakeProviderServer() as fake:
            api = Api(http)
            project = api.new_project(admin_key)
            prod = api.new_key(admin_key, "production", "write", project_id=project.id)
            r = api.as_(prod).post(
                "/v1/providers",
                json={
                    "name": "fake",
                    "provider": "openai",
                    "api_key": "sk-test-1234",
                    "base_url": fake.openai_base_url,
                },
            )
            assert r.status_code == 201, r.text
            api.new_prompt(project.key, "classify")
            api.new_version(project.key, "classify", user_template="Classify: {{ticket}}")
            ticket = [{"name": "ticket", "type": "string"}]
            _agent(
                api,
                project.key,
                "triage",
                {
                    "inputs": ticket,
                    "start": "classify",
                    "steps": {
                        "classify": {
                            "type": "prompt",
                            "prompt": "classify",
                            "variables": {"ticket": "inputs.ticket"},
                        }
                    },
                    "output": "steps.classify.output",
                },
            )
            _agent(
                api,
                project.key,
                "review",
                {
                    "inputs": ticket,
                    "start": "review",
                    "steps": {
                        "review": {
                            "type": "wait",
                            "prompt": "Approve {{inputs.ticket}}?",
                            "timeout_seconds": 60,
                        }
                    },
                    "output": "steps.review.output",
                },
            )
            _agent(  # to cancel: its wait step gives up after HOLD seconds
                api,
                project.key,
                "hold",
                {"start": "hold", "steps": {"hold": {"type": "wait", "timeout_seconds": HOLD}}},
            )
            _agent(
                api,
                project.key,
                "broken",
                {
                    "start": "call",
                    "steps": {"call": {"type": "http", "url": "http://127.0.0.1:1/nothing"}},
                },
            )
            read_key = api.new_key(project.key, "dev", "read")
            yield Setup(live.base_url, api, project, read_key, fake)
    finally:
        http.close()
        live.stop()


def _chat_calls(fake: FakeProviderServer) -> int:
    return len([q for q in fake.requests if q.path.endswith("/chat/completions")])


def test_run_and_wait_returns_the_finished_run_with_its_steps(setup: Setup) -> None:
    with setup.client() as client:
        run = client.agents.run(
            "triage", {"ticket": "I want a refund"}, timeout=30, poll_interval=POLL
        )
        assert isinstance(run, AgentRun)
        assert (run.status, run.finished, run.created) == ("succeeded", True, True)
        assert run.output == "echo: Classify: I want a refund"
        assert run.raise_for_status() is run
        step = run.step("classify")
        assert (step.type, step.status, step.attempts) == ("prompt", "succeeded", 1)
        assert step.output == run.output and step.input_tokens > 0
        assert run.input_tokens == step.input_tokens and run.version == 1
        assert run.environment == "dev" and run.inputs == {"ticket": "I want a refund"}
        assert run.finished_at is not None and run.started_at is not None
        again = client.agents.get_run("triage", run.id)
        assert again == run and again.created is None
    assert _chat_calls(setup.fake) == 1


def test_idempotency_key_version_and_listing(setup: Setup) -> None:
    with setup.client() as client:
        first = client.agents.run(
            "triage", {"ticket": "a"}, idempotency_key="k-1", version=1, timeout=30
        )
        same = client.agents.run("triage", {"ticket": "b"}, idempotency_key="k-1", wait=False)
        assert (same.id, same.created, same.inputs) == (first.id, False, {"ticket": "a"})
        other = client.agents.run("triage", {"ticket": "c"}, timeout=30, poll_interval=POLL)
        assert other.id != first.id
        page = client.agents.list_runs("triage", status="succeeded", limit=1)
        assert [r.id for r in page] == [other.id] and page.next_cursor is not None
        assert page.runs[0].steps == ()  # a listing has no steps
        rest = client.agents.list_runs("triage", status="succeeded", cursor=page.next_cursor)
        assert [r.id for r in rest] == [first.id] and rest.next_cursor is None
        assert len(client.agents.list_runs("triage", status="failed")) == 0
        assert len(client.agents.list_runs("triage", version=1)) == 2
    assert _chat_calls(setup.fake) == 2  # the repeated idempotency key ran nothing


def test_wait_for_input_send_it_then_finish(setup: Setup) -> None:
    with setup.client() as client:
        started = client.agents.run("review", {"ticket": "T-1"}, wait=False)
        assert started.status in ("queued", "running", "waiting")
        waiting = client.agents.wait(
            "review", started.id, until={"waiting"}, timeout=30, poll_interval=POLL
        )
        assert waiting.status == "waiting" and waiting.step("review").status == "waiting"
        assert client.agents.send_input("review", started.id, {"approved": True}).id == started.id
        done = client.agents.wait("review", started.id, timeout=30, poll_interval=POLL)
        assert done.status == "succeeded" and done.output == {"approved": True}
        with pytest.raises(promptops.ConflictError) as caught:
            client.agents.send_input("review", started.id, "late")
        assert caught.value.status_code == 409


def test_a_wait_timeout_raises_and_the_run_can_be_cancelled(setup: Setup) -> None:
    with setup.client() as client:
        with pytest.raises(promptops.AgentRunTimeoutError) as caught:
            client.agents.run("hold", timeout=0.3, poll_interval=0.1)
        assert isinstance(caught.value, TimeoutError)
        run_id = caught.value.run_id
        assert caught.value.run is not None and not caught.value.run.finished
        cancelled = client.agents.cancel("hold", run_id)
        assert cancelled.id == run_id
        final = client.agents.wait("hold", run_id, timeout=30, poll_interval=POLL)
        assert final.status == "cancelled"
        with pytest.raises(promptops.AgentRunError) as failed:
            final.raise_for_status()
        assert failed.value.status == "cancelled" and failed.value.run is final
        with pytest.raises(promptops.ConflictError):
            client.agents.cancel("hold", run_id)
    _let_the_engine_finish()


def test_a_failed_run_is_returned_and_raise_for_status_raises(setup: Setup) -> None:
    with setup.client() as client:
        run = client.agents.run("broken", timeout=30, poll_interval=POLL)
        assert run.status == "failed" and run.error
        assert run.step("call").status == "failed"
        with pytest.raises(promptops.AgentRunError, match="ended failed") as caught:
            run.raise_for_status()
        assert caught.value.error == run.error


def test_refusals(setup: Setup) -> None:
    with setup.client() as client:
        with pytest.raises(promptops.AgentNotFoundError) as missing:
            client.agents.run("no-such-agent", {})
        assert missing.value.status_code == 404 and missing.value.slug == "no-such-agent"
        with pytest.raises(promptops.AgentNotFoundError):
            client.agents.get_run("triage", "no-such-run")
        with pytest.raises(promptops.APIError) as bad:
            client.agents.run("triage", {"ticket": "x", "extra": 1})
        assert bad.value.status_code == 422 and bad.value.field == "inputs.extra"
        with pytest.raises(promptops.ConfigurationError):
            client.agents.list_runs("triage", status="done")
    with setup.client(setup.read_key) as reader:
        with pytest.raises(promptops.PermissionDeniedError) as denied:
            reader.agents.run("triage", {"ticket": "x"})
        assert denied.value.status_code == 403
        assert len(reader.agents.list_runs("triage")) == 0  # reading is allowed
    with setup.client(setup.revoked_key()) as revoked:
        with pytest.raises(promptops.AuthenticationError) as refused:
            revoked.agents.run("triage", {"ticket": "x"})
        assert refused.value.status_code == 401
    assert _chat_calls(setup.fake) == 0


def test_a_stopped_server_is_unavailable() -> None:
    from tests.support import free_port

    client = promptops.Client(api_key="po_live_x", base_url=f"http://127.0.0.1:{free_port()}")
    with client, pytest.raises(promptops.AgentUnavailableError) as caught:
        client.agents.get_run("triage", "r-1")
    assert isinstance(caught.value.cause, httpx.TransportError)


# -- AsyncClient -------------------------------------------------------------------------


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_async_run_input_cancel_and_refusals(setup: Setup) -> None:
    async with setup.async_client() as client:
        run = await client.agents.run(
            "triage", {"ticket": "refund"}, timeout=30, poll_interval=POLL
        )
        assert run.status == "succeeded" and run.output == "echo: Classify: refund"
        assert (await client.agents.get_run("triage", run.id)).output == run.output
        assert [r.id for r in await client.agents.list_runs("triage")] == [run.id]

        started = await client.agents.run("review", {"ticket": "T-3"}, wait=False)
        await client.agents.wait(
            "review", started.id, until=("waiting",), timeout=30, poll_interval=POLL
        )
        await client.agents.send_input("review", started.id, "approved")
        done = await client.agents.wait("review", started.id, timeout=30, poll_interval=POLL)
        assert done.output == "approved"

        pending = await client.agents.run("hold", wait=False)
        with pytest.raises(promptops.AgentRunTimeoutError):
            await client.agents.wait("hold", pending.id, timeout=0.3, poll_interval=0.1)
        await client.agents.cancel("hold", pending.id)
        final = await client.agents.wait("hold", pending.id, timeout=30, poll_interval=POLL)
        assert final.status == "cancelled"

        with pytest.raises(promptops.AgentNotFoundError):
            await client.agents.run("no-such-agent")
    async with setup.async_client(setup.read_key) as reader:
        with pytest.raises(promptops.PermissionDeniedError):
            await reader.agents.cancel("hold", pending.id)
    async with setup.async_client(setup.revoked_key()) as revoked:
        with pytest.raises(promptops.AuthenticationError):
            await revoked.agents.list_runs("triage")
    await anyio.sleep(HOLD + 1)  # as _let_the_engine_finish(), without blocking the loop
