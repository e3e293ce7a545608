"""The steps that run inside others: a map (bounded concurrency, items in order), a prompt
step's tool loop (a tool bound to an http step, or to another agent), ``max_turns``,
a ``response_format`` checked, and the cost of each prompt step from the SDK's prices.
The official OpenAI library talks to the fake provider; http steps call a local server."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from promptops.domain.bootstrap import ensure_admin_key
from promptops.sdk.pricing import PriceTable
from promptops.server.app import create_app
from promptops.server.config import Settings
from promptops.worker.agents.steps import tool_key
from tests.agents.test_agent_processes import _until, _worker
from tests.fakes.providers import FakeProviderServer, FakeToolCall
from tests.support import Api, Project

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
PRICES = PriceTable.load()


class Tools:
    """A local server for http steps: ``/weather`` forecasts a city, ``/items`` echoes an
    item (500 for "bad") and counts the requests in flight at once."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any]] = []
        self.in_flight = 0
        self.most = 0
        self.pairs = True  # /items waits for a second request in flight
        self.hold: str | None = None  # this item's request waits for `release`
        self.release = threading.Event()
        self.lock = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)))
                with outer.lock:
                    outer.seen.append((self.path, body))
                if self.path == "/weather":
                    self._reply(200, {"forecast": f"sunny in {body['city']}"})
                    return
                with outer.lock:
                    outer.in_flight += 1
                    outer.most = max(outer.most, outer.in_flight)
                    outer.lock.notify_all()
                    # hold until a second request is in flight (or 1 s): a map that ran
                    # its items one by one, or more than its concurrency, shows in `most`
                    if outer.pairs:
                        outer.lock.wait_for(lambda: outer.in_flight >= 2, timeout=1.0)
                if body["item"] == outer.hold:
                    outer.release.wait(30)
                time.sleep(0.05)
                with outer.lock:
                    outer.in_flight -= 1
                if body["item"] == "bad":
                    self._reply(500, {"error": "bad item"})
                else:
                    self._reply(200, {"item": body["item"]})

            def _reply(self, status: int, value: Any) -> None:
                reply = json.dumps(value).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeProviderServer]:
    with FakeProviderServer() as server:
        yield server


@pytest.fixture
def tools() -> Iterator[Tools]:
    t = Tools()
    yield t
    t.close()


def _provider(api: Api, project: Project, fake: FakeProviderServer, admin_key: str) -> Api:
    prod = api.as_(api.new_key(admin_key, "production", "write", project_id=project.id))
    r = prod.post(
        "/v1/providers",
        json={
            "name": "fake",
            "provider": "openai",
            "api_key": "sk-test-1234",
            "base_url": fake.openai_base_url,
        },
    )
    assert r.status_code == 201, r.text
    return api.as_(project.key)


def _agent(a: Api, slug: str, workflow: dict[str, Any]) -> None:
    assert a.post("/v1/agents", json={"slug": slug, "name": slug.title()}).status_code == 201
    r = a.post(f"/v1/agents/{slug}/versions", json=workflow)
    assert r.status_code == 201, r.text


def _run(a: Api, slug: str, inputs: dict[str, Any]) -> dict[str, Any]:
    r = a.post(f"/v1/agents/{slug}/runs", json={"inputs": inputs})
    assert r.status_code == 202, r.text
    run_id = r.json()["run_id"]
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        body = a.get(f"/v1/agents/{slug}/runs/{run_id}").json()
        if body["status"] not in ("queued", "running", "waiting"):
            return dict(body)
        time.sleep(0.05)
    raise AssertionError(f"run still {body['status']}: {body}")


def _steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in run["steps"]}


def _chats(fake: FakeProviderServer) -> list[Any]:
    return [q for q in fake.requests if q.path.endswith("/chat/completions")]


def _priced(step: dict[str, Any]) -> float:
    cost = PRICES.cost("gpt-4o-mini", step["input_tokens"], step["output_tokens"])
    assert cost is not None
    return cost


def test_a_branch_then_a_map_of_prompt_steps(
    api: Api, project: Project, fake: FakeProviderServer, admin_key: str
) -> None:
    a = _provider(api, project, fake, admin_key)
    api.new_prompt(project.key, "classify")
    api.new_version(project.key, "classify", user_template="Classify: {{ticket}}")
    api.new_prompt(project.key, "describe")
    api.new_version(project.key, "describe", user_template="Describe order {{order}}")
    workflow = {
        "inputs": [{"name": "ticket", "type": "string"}, {"name": "orders", "type": "list"}],
        "start": "classify",
        "steps": {
            "classify": {
                "type": "prompt",
                "prompt": "classify",
                "variables": {"ticket": "inputs.ticket"},
                "next": "route",
            },
            "route": {
                "type": "branch",
                "cases": [{"when": "contains(steps.classify.output, 'refund')", "next": "each"}],
            },
            "each": {"type": "map", "items": "inputs.orders", "step": "describe", "concurrency": 2},
            "describe": {"type": "prompt", "prompt": "describe", "variables": {"order": "item"}},
        },
        "output": "steps.each.output",
    }
    _agent(a, "orders", workflow)
    run = _run(a, "orders", {"ticket": "a refund please", "orders": ["A1", "B2", "C3"]})
    assert run["status"] == "succeeded", run
    assert run["output"] == [f"echo: Describe order {o}" for o in ("A1", "B2", "C3")]
    steps = _steps(run)
    assert set(steps) == {"classify", "route", "each", "each[0]", "each[1]", "each[2]"}
    assert steps["each"]["type"] == "map" and steps["each"]["output"] == run["output"]
    assert steps["each[1]"]["name"] == "describe" and steps["each[1]"]["type"] == "prompt"
    assert steps["each[1]"]["output"] == "echo: Describe order B2"
    assert len(_chats(fake)) == 4  # each item's call once
    prompts = [s for s in run["steps"] if s["type"] == "prompt"]
    for s in prompts:
        assert s["input_tokens"] > 0 and s["cost"] == pytest.approx(_priced(s))
    assert run["cost"] == pytest.approx(sum(s["cost"] for s in prompts))
    assert run["input_tokens"] == sum(s["input_tokens"] for s in prompts)

    # the branch not taken: no map; an items expression that is not a list fails the run
    run = _run(a, "orders", {"ticket": "hello", "orders": []})
    assert run["status"] == "succeeded" and [s["key"] for s in run["steps"]] == [
        "classify",
        "route",
    ]
    run = _run(a, "orders", {"ticket": "refund", "orders": {"not": "a list"}})
    assert run["status"] == "failed" and "step each: items (inputs.orders) is dict" in run["error"]


def test_map_concurrency_is_bounded_and_a_failing_item_fails_the_run(
    api: Api, project: Project, fake: FakeProviderServer, tools: Tools, admin_key: str
) -> None:
    a = api.as_(project.key)
    workflow = {
        "inputs": [{"name": "items", "type": "list"}],
        "start": "each",
        "steps": {
            "each": {"type": "map", "items": "inputs.items", "step": "call", "concurrency": 2},
            "call": {"type": "http", "url": tools.url + "/items", "body": '{"item": "{{item}}"}'},
        },
    }
    _agent(a, "fanout", workflow)
    items = [f"i{n}" for n in range(6)]
    run = _run(a, "fanout", {"items": items})
    assert run["status"] == "succeeded", run
    assert run["output"] == [{"item": i} for i in items]
    assert sorted(b["item"] for _, b in tools.seen) == items
    assert tools.most == 2  # two at once, never more
    run = _run(a, "fanout", {"items": ["x0", "x1", "bad", "x3"]})
    assert run["status"] == "failed"
    assert run["error"].startswith("step each[2]: HTTP 500"), run["error"]
    steps = _steps(run)
    assert steps["each"]["status"] == "failed" and steps["each[2]"]["status"] == "failed"
    assert steps["each[0]"]["status"] == "succeeded"


def _weather_prompt(api: Api, key: str, **fields: Any) -> None:
    api.new_prompt(key, "weather")
    api.new_version(
        key, "weather", user_template="Weather in {{city}}?", tools=[WEATHER_TOOL], **fields
    )


def _calls_until_answered(body: dict[str, Any]) -> list[FakeToolCall]:
    answered = any(m.get("role") == "tool" for m in body["messages"])
    return [] if answered else [FakeToolCall("get_weather", {"city": "Paris"})]


def _final(body: dict[str, Any]) -> str:
    results = [m["content"] for m in body["messages"] if m.get("role") == "tool"]
    return "final: " + results[-1] if results else "thinking"


def _tool_agent(binding: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "inputs": [{"name": "city", "type": "string"}],
        "start": "answer",
        "steps": {
            "answer": {
                "type": "prompt",
                "prompt": "weather",
                "variables": {"city": "inputs.city"},
                "tools": {"get_weather": binding},
                **extra,
            },
        },
    }


def test_a_tool_loop_through_an_http_step(
    api: Api, project: Project, fake: FakeProviderServer, tools: Tools, admin_key: str
) -> None:
    a = _provider(api, project, fake, admin_key)
    _weather_prompt(api, project.key)
    workflow = _tool_agent({"step": "forecast"})
    workflow["steps"]["forecast"] = {
        "type": "http",
        "url": tools.url + "/weather",
        "body": '{"city": "{{args.city}}"}',
    }
    _agent(a, "weatherman", workflow)
    fake.set_tool_calls("openai", _calls_until_answered)
    fake.set_reply("openai", _final)
    run = _run(a, "weatherman", {"city": "Paris"})
    assert run["status"] == "succeeded", run
    assert run["output"] == 'final: {"forecast": "sunny in Paris"}'
    assert tools.seen == [("/weather", {"city": "Paris"})]  # the model's arguments
    chats = _chats(fake)
    assert len(chats) == 2
    assistant, answer = chats[1].body["messages"][-2:]
    assert assistant["tool_calls"][0]["function"]["name"] == "get_weather"
    assert answer == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": '{"forecast": "sunny in Paris"}',
    }
    steps = _steps(run)
    assert list(steps) == ["answer", "answer.get_weather#1.1"]
    call = steps["answer.get_weather#1.1"]
    assert (call["type"], call["name"], call["status"]) == ("http", "forecast", "succeeded")
    assert call["input"] == {"city": "Paris"} and call["output"] == {"forecast": "sunny in Paris"}
    turns = [q.body for q in chats]
    assert steps["answer"]["input_tokens"] == run["input_tokens"] > 0
    # both turns are paid for: the step's cost is the sum of the two calls' costs
    assert steps["answer"]["cost"] == pytest.approx(_priced(steps["answer"]))
    assert run["cost"] == pytest.approx(steps["answer"]["cost"]) and len(turns) == 2


def _tool_results(body: dict[str, Any]) -> list[Any]:
    return [
        block["content"]
        for m in body["messages"]
        if isinstance(m["content"], list)
        for block in m["content"]
        if block.get("type") == "tool_result"
    ]


def test_a_tool_loop_on_anthropic(
    api: Api, project: Project, fake: FakeProviderServer, tools: Tools, admin_key: str
) -> None:
    prod = api.as_(api.new_key(admin_key, "production", "write", project_id=project.id))
    r = prod.post(
        "/v1/providers",
        json={
            "name": "claude",
            "provider": "anthropic",
            "api_key": "sk-ant-1234",
            "base_url": fake.anthropic_base_url,
        },
    )
    assert r.status_code == 201, r.text
    a = api.as_(project.key)
    _weather_prompt(api, project.key, model="claude-3-5-haiku", max_tokens=200)
    workflow = _tool_agent({"step": "forecast"})
    workflow["steps"]["forecast"] = {
        "type": "http",
        "url": tools.url + "/weather",
        "body": '{"city": "{{args.city}}"}',
    }
    _agent(a, "claude_weather", workflow)
    fake.set_tool_calls(
        "anthropic",
        lambda body: [] if _tool_results(body) else [FakeToolCall("get_weather", {"city": "Rome"})],
    )
    fake.set_reply(
        "anthropic",
        lambda body: "final: " + _tool_results(body)[-1] if _tool_results(body) else "Let me look.",
    )
    run = _run(a, "claude_weather", {"city": "Rome"})
    assert run["status"] == "succeeded", run
    assert run["output"] == 'final: {"forecast": "sunny in Rome"}'
    second = fake.requests_for("anthropic")[-1].body["messages"]
    assert [b["type"] for b in second[1]["content"]] == ["text", "tool_use"]
    step = _steps(run)["answer"]
    cost = PRICES.cost("claude-3-5-haiku", step["input_tokens"], step["output_tokens"])
    assert step["cost"] == pytest.approx(cost) and step["cost"] > 0


def test_a_tool_bound_to_another_agent(
    api: Api, project: Project, fake: FakeProviderServer, tools: Tools, admin_key: str
) -> None:
    a = _provider(api, project, fake, admin_key)
    _weather_prompt(api, project.key)
    forecaster = {
        "inputs": [{"name": "city", "type": "string"}],
        "start": "fetch",
        "steps": {
            "fetch": {
                "type": "http",
                "url": tools.url + "/weather",
                "body": '{"city": "{{inputs.city}}"}',
            }
        },
        "output": "steps.fetch.output.forecast",
    }
    _agent(a, "forecaster", forecaster)
    _agent(a, "asker", _tool_agent({"agent": "forecaster"}))
    fake.set_tool_calls("openai", _calls_until_answered)
    fake.set_reply("openai", _final)
    run = _run(a, "asker", {"city": "Oslo"})
    assert run["status"] == "succeeded", run
    assert run["output"] == "final: sunny in Paris"  # the model asked for Paris
    call = _steps(run)["answer.get_weather#1.1"]
    assert (call["type"], call["status"], call["output"]) == (
        "agent",
        "succeeded",
        "sunny in Paris",
    )
    children = a.get("/v1/agents/forecaster/runs").json()["data"]
    assert [(c["status"], c["inputs"], c["output"]) for c in children] == [
        ("succeeded", {"city": "Paris"}, "sunny in Paris")
    ]
    # the tool's arguments are the agent's inputs: one it does not declare fails the step
    fake.set_tool_calls("openai", [FakeToolCall("get_weather", {"town": "Rome"})])
    run = _run(a, "asker", {"city": "Rome"})
    assert run["status"] == "failed"
    assert "step answer: tool get_weather (answer.get_weather#1.1)" in run["error"]
    assert "inputs.town: not an input of this agent" in run["error"]


def test_max_turns_and_an_unbound_tool_fail_the_step(
    api: Api, project: Project, fake: FakeProviderServer, tools: Tools, admin_key: str
) -> None:
    a = _provider(api, project, fake, admin_key)
    _weather_prompt(api, project.key)
    workflow = _tool_agent({"step": "forecast"}, max_turns=2)
    workflow["steps"]["forecast"] = {
        "type": "http",
        "url": tools.url + "/weather",
        "body": '{"city": "{{args.city}}"}',
    }
    _agent(a, "stubborn", workflow)
    fake.set_tool_calls("openai", [FakeToolCall("get_weather", {"city": "Lima"})])
    run = _run(a, "stubborn", {"city": "Lima"})
    assert run["status"] == "failed"
    assert run["error"] == "step answer: the model still asks for tools after max_turns (2) calls"
    assert len(_chats(fake)) == 2 and len(tools.seen) == 1
    steps = _steps(run)
    assert list(steps) == ["answer", "answer.get_weather#1.1"]
    assert steps["answer"]["status"] == "failed" and steps["answer"]["cost"] > 0
    fake.set_tool_calls("openai", [FakeToolCall("get_time", {})])
    run = _run(a, "stubborn", {"city": "Lima"})
    assert run["status"] == "failed" and "tools.get_time: the model called" in run["error"]


def test_a_response_format_is_checked_and_retried(
    api: Api, project: Project, fake: FakeProviderServer, admin_key: str
) -> None:
    a = _provider(api, project, fake, admin_key)
    schema = {
        "type": "object",
        "properties": {"category": {"type": "string"}},
        "required": ["category"],
    }
    api.new_prompt(project.key, "label")
    api.new_version(
        project.key,
        "label",
        user_template="Label: {{text}}",
        response_format={"type": "json_schema", "json_schema": {"name": "l", "schema": schema}},
    )

    def agent(retries: int) -> dict[str, Any]:
        step = {"type": "prompt", "prompt": "label", "variables": {"text": "inputs.text"}}
        return {
            "inputs": [{"name": "text", "type": "string"}],
            "start": "label",
            "steps": {"label": {**step, "retries": retries}},
        }

    _agent(a, "strict", agent(0))
    _agent(a, "patient", agent(1))
    fake.set_reply("openai", '{"category": 3}')
    run = _run(a, "strict", {"text": "x"})
    assert run["status"] == "failed"
    assert run["error"].startswith("step label: response_format: the reply does not match")
    assert "at category: 3 is not of type 'string'" in run["error"]
    replies = iter(['{"category": 3}', '{"category": "refund"}'])
    fake.set_reply("openai", lambda body: next(replies))
    run = _run(a, "patient", {"text": "x"})
    assert run["status"] == "succeeded" and run["output"] == {"category": "refund"}
    step = _steps(run)["label"]
    assert step["attempts"] == 2
    # the mismatching reply was paid for too: tokens and cost of both calls
    assert step["output_tokens"] == 2 * 2 and step["cost"] == pytest.approx(_priced(step))


def test_tool_call_keys_fit_the_column_and_stay_distinct() -> None:
    assert tool_key("reply", "get_order", 2, 1) == "reply.get_order#2.1"
    long = [tool_key("m" * 64 + "[1234]", "t" * 64, 50, n) for n in range(1, 11)]
    assert all(len(k) <= 100 for k in long) and len(set(long)) == 10


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s["call"].update(next="done"), "steps.call.next"),
        (lambda s: s["done"].update(body="{{args.x}}"), "steps.done.body"),
        (lambda s: s["each"].update(next="call"), "steps.each.next"),
        (lambda s: s["call"].update(body="{{steps.each.output}}"), "steps.call.body"),
    ],
)
def test_inner_steps_are_checked_on_creation(
    api: Api, project: Project, change: Any, field: str
) -> None:
    steps: dict[str, Any] = {
        "each": {"type": "map", "items": "inputs.items", "step": "call", "next": "done"},
        "call": {"type": "http", "url": "http://127.0.0.1:9/x", "body": "{{item}}"},
        "done": {"type": "http", "url": "http://127.0.0.1:9/y"},
    }
    change(steps)
    a = api.as_(project.key)
    assert a.post("/v1/agents", json={"slug": "inner", "name": "Inner"}).status_code == 201
    body = {"inputs": [{"name": "items", "type": "list"}], "start": "each", "steps": steps}
    r = a.post("/v1/agents/inner/versions", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["field"] == field, r.text
    assert a.get("/v1/agents/inner").json()["latest_version"] == 0


@pytest.mark.slow
def test_kill_9_mid_map_resumes_without_running_done_items_again(
    settings: Settings, database_url: str, tmp_path: Path, tools: Tools
) -> None:
    settings.embedded_worker = False
    settings.agents_embedded = False  # only the worker process runs agents
    settings.webhook_allow_private = True
    app = create_app(settings)
    with app.state.db.write() as session:
        admin = ensure_admin_key(session, rounds=4)
    assert admin is not None
    log = tmp_path / "worker.log"
    workers: list[subprocess.Popen[bytes]] = []
    tools.pairs, tools.hold = False, "c"
    workflow = {
        "inputs": [{"name": "items", "type": "list"}],
        "start": "each",
        "steps": {
            "each": {"type": "map", "items": "inputs.items", "step": "call", "concurrency": 1},
            "call": {"type": "http", "url": tools.url + "/items", "body": '{"item": "{{item}}"}'},
        },
    }
    try:
        with TestClient(app) as client:
            api = Api(client)
            a = api.as_(api.new_project(admin).key)
            _agent(a, "fanout", workflow)
            workers.append(_worker(database_url, log))
            r = a.post("/v1/agents/fanout/runs", json={"inputs": {"items": list("abcd")}})
            assert r.status_code == 202, r.text
            run_id = r.json()["run_id"]
            _until(lambda: ("/items", {"item": "c"}) in tools.seen, "item c to start")
            os.kill(workers[0].pid, signal.SIGKILL)
            workers[0].wait(10)
            run = a.get(f"/v1/agents/fanout/runs/{run_id}").json()
            assert [(s["key"], s["status"]) for s in run["steps"]] == [
                ("each", "running"),
                ("each[0]", "succeeded"),
                ("each[1]", "succeeded"),
                ("each[2]", "running"),
            ]
            tools.release.set()
            workers.append(_worker(database_url, log))
            deadline = time.monotonic() + 30
            while run["status"] != "succeeded" and time.monotonic() < deadline:
                time.sleep(0.05)
                run = a.get(f"/v1/agents/fanout/runs/{run_id}").json()
            assert run["status"] == "succeeded", run
            assert run["output"] == [{"item": i} for i in "abcd"]
            sent = [body["item"] for _, body in tools.seen]
            assert sorted(sent) == ["a", "b", "c", "c", "d"]  # done items did not run again
            assert _steps(run)["each[2]"]["attempts"] == 2
    finally:
        for proc in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
