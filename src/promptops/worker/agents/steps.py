"""The step kinds that run inside others, durably: a ``map`` step's items and a ``prompt``
step's tool loop.

- A map runs its step once per item in a child workflow (``DBOS.start_workflow``; the
  child's id derives from the run's workflow id and call number, so a resumed run finds
  its children again), at most ``concurrency`` started and not yet awaited, awaited in
  order: the output is the list of the items' outputs. A worker killed mid-map resumes:
  finished items return their recorded result, unfinished ones are recovered by DBOS
  from their last completed step. Each item is a run step ``<map>[<i>]``.
- A prompt step whose reply asks for tools answers each call by its binding (an ``http``
  step reading the call's arguments as ``args``, or another agent's run, a child workflow
  whose inputs are the arguments), gives the results back to the model, and calls it
  again, up to ``max_turns`` calls. Each provider call and each tool call is a DBOS step
  (or child workflow): completed ones are not repeated after a crash. Each tool call is a
  run step ``<prompt>.<tool>#<turn>.<n>``; the prompt step's row adds up every turn's
  tokens and cost.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import time
from typing import Any

from dbos import DBOS, SetWorkflowID

from promptops.contract.agents import AgentDefinition, HttpStep, MapStep, PromptStep
from promptops.db.models import AgentRun
from promptops.domain import agent_runs
from promptops.errors import PromptOpsError
from promptops.worker.agents import calls, workflow

__all__ = ["MAP_ITEM", "map_item", "pending", "run_map", "run_work", "tool_key", "usage"]

MAP_ITEM = "promptops_agent_map_item"
MAX_NESTING = 4  # agents calling agents as tools, deep
_POLL = 0.05  # seconds between checks of a child workflow resumed after a restart


def usage(reply: calls.Reply) -> tuple[int, int, float]:
    return reply.input_tokens, reply.output_tokens, reply.cost


def pending(reply: calls.Reply, turn: int) -> dict[str, Any]:
    """A reply asking for tools, as the tool loop carries it from turn to turn."""
    return {
        "messages": reply.messages,
        "tool_calls": reply.tool_calls,
        "text": reply.output,
        "version": reply.version,
        "turn": turn,
    }


def tool_key(key: str, tool: str, turn: int, n: int) -> str:
    """The run step key of a tool call: ``reply.get_order#2.1`` (turn 2, first call),
    shortened with a digest to the column's 100 characters."""
    full = f"{key}.{tool}#{turn}.{n}"
    if len(full) <= 100:
        return full
    digest = hashlib.sha1(full.encode()).hexdigest()[:10]
    return f"{full[:89]}~{digest}"


@DBOS.step(name="promptops_agent_mark")
def _mark(run_id: str, key: str, name: str, kind: str, fields: dict[str, Any]) -> None:
    workflow._record(run_id, key, name, kind, **fields)


# ---- the tool loop ------------------------------------------------------------------------


def run_work(
    run_id: str,
    run: dict[str, Any],
    key: str,
    name: str,
    raw: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """A prompt or http step (``{"output"}`` or ``{"error"}``), with a prompt's tool loop."""
    result = workflow._work(run_id, run, key, name, raw, data)
    if "pending" in result:
        step = PromptStep.model_validate(raw)
        result = _tool_loop(run_id, run, key, name, step, data, result["pending"])
    return result


def _tool_loop(
    run_id: str,
    run: dict[str, Any],
    key: str,
    name: str,
    step: PromptStep,
    data: dict[str, Any],
    state: dict[str, Any],
) -> dict[str, Any]:
    raw = step.model_dump(mode="json")
    while True:
        turn = state["turn"]
        if turn >= step.max_turns:
            error = f"the model still asks for tools after max_turns ({step.max_turns}) calls"
            _mark(run_id, key, name, "prompt", {"status": "failed", "error": error})
            return {"error": f"step {key}: {error}"}
        results = []
        for n, call in enumerate(state["tool_calls"], 1):
            binding = step.tools[call["name"]]
            where = tool_key(key, call["name"], turn, n)
            if binding.step is not None:
                result = _tool_http(run_id, run, where, binding.step, call, data)
            else:
                assert binding.agent is not None
                result = _tool_agent(run_id, run, where, call, binding.agent)
            if "error" in result:
                error = f"tool {call['name']} ({where}): {result['error']}"
                _mark(run_id, key, name, "prompt", {"status": "failed", "error": error})
                return {"error": f"step {key}: {error}"}
            results.append(result["output"])
        messages = [*state["messages"], *_answers(state, results)]
        reply = _turn(run_id, run, key, name, raw, data, messages, state["version"], turn + 1)
        if "pending" not in reply:
            return reply
        state = reply["pending"]


def _answers(state: dict[str, Any], results: list[Any]) -> list[dict[str, Any]]:
    """The assistant's tool calls and a ``tool`` message answering each (neutral form)."""
    out: list[dict[str, Any]] = [
        {"role": "assistant", "content": state["text"] or "", "tool_calls": state["tool_calls"]}
    ]
    for call, result in zip(state["tool_calls"], results, strict=True):
        text = result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)
        out.append(
            {"role": "tool", "tool_call_id": call["id"], "name": call["name"], "content": text}
        )
    return out


@DBOS.step(name="promptops_agent_turn")
def _turn(
    run_id: str,
    run: dict[str, Any],
    key: str,
    name: str,
    raw: dict[str, Any],
    data: dict[str, Any],
    messages: list[dict[str, Any]],
    version: int,
    turn: int,
) -> dict[str, Any]:
    """A later call of the tool loop (the first is the step's own), with its retries."""
    step = PromptStep.model_validate(raw)
    timeout = step.timeout_seconds or 60.0
    ctx = workflow._context(run)
    delay = 0.1
    for attempt in range(step.retries + 1):
        try:
            reply = calls.call_prompt(ctx, step, data, timeout, messages, version)
        except calls.StepError as exc:
            if exc.usage:
                workflow._record(run_id, key, name, "prompt", **exc.usage)
            if exc.retry and attempt < step.retries:
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            error = f"turn {turn}: {exc}"
            workflow._record(run_id, key, name, "prompt", status="failed", error=error)
            return {"error": f"step {key}: {error}"}
        tin, tout, cost = usage(reply)
        tokens: dict[str, Any] = {"input_tokens": tin, "output_tokens": tout, "cost": cost}
        if reply.tool_calls:
            workflow._record(run_id, key, name, "prompt", **tokens)
            return {"pending": pending(reply, turn)}
        workflow._record(
            run_id, key, name, "prompt", status="succeeded", output=reply.output, **tokens
        )
        return {"output": reply.output}
    raise AssertionError("unreachable")


@DBOS.step(name="promptops_agent_tool_http")
def _tool_http(
    run_id: str,
    run: dict[str, Any],
    key: str,
    step_name: str,
    call: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """A tool call answered by an http step of this agent, reading ``args``."""
    step = AgentDefinition.model_validate(run["definition"]).steps[step_name]
    assert isinstance(step, HttpStep)
    timeout = step.timeout_seconds or 60.0
    ctx = workflow._context(run)
    workflow._record(run_id, key, step_name, "http", input=call["arguments"])
    delay = 0.1
    for attempt in range(step.retries + 1):
        workflow._record(run_id, key, step_name, "http", attempt=True, status="running")
        try:
            output = calls.call_http(ctx, step, {**data, "args": call["arguments"]}, timeout)
        except calls.StepError as exc:
            if exc.retry and attempt < step.retries:
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            workflow._record(run_id, key, step_name, "http", status="failed", error=str(exc))
            return {"error": str(exc)}
        workflow._record(run_id, key, step_name, "http", status="succeeded", output=output)
        return {"output": output}
    raise AssertionError("unreachable")


def _tool_agent(
    run_id: str, run: dict[str, Any], key: str, call: dict[str, Any], slug: str
) -> dict[str, Any]:
    """A tool call answered by a run of another agent (its inputs: the arguments), run as
    a child workflow of this run; its output is the result."""
    started = _child_begin(run_id, run, key, call, slug)
    if "error" in started:
        return started
    child = started["child"]
    with SetWorkflowID(child):
        handle = DBOS.start_workflow(workflow.agent_run, child)
    with contextlib.suppress(Exception):  # the child ended abnormally: its row says how
        handle.get_result(polling_interval_sec=_POLL)
    return _child_end(run_id, key, call["name"], child)


@DBOS.step(name="promptops_agent_child_begin")
def _child_begin(
    run_id: str, run: dict[str, Any], key: str, call: dict[str, Any], slug: str
) -> dict[str, Any]:
    workflow._record(run_id, key, call["name"], "agent", input=call["arguments"], attempt=True)
    with workflow._ctx["db"].write() as session:
        depth, parent = 0, session.get(AgentRun, run_id)
        while parent is not None and (parent.started_by or "").startswith("run "):
            depth += 1
            parent = session.get(AgentRun, parent.started_by[4:])
        try:
            if depth >= MAX_NESTING:
                raise calls.StepError(f"agents call agents at most {MAX_NESTING} deep")
            child = agent_runs.start_child_run(
                session,
                run["project_id"],
                slug,
                run["environment"],
                call["arguments"],
                started_by=f"run {run_id}",
            )
        except (PromptOpsError, calls.StepError) as exc:
            error = f"agent {slug!r}: {exc}"
            session.rollback()
        else:
            return {"child": child.id}
    workflow._record(run_id, key, call["name"], "agent", status="failed", error=error)
    return {"error": error}


@DBOS.step(name="promptops_agent_child_end")
def _child_end(run_id: str, key: str, tool: str, child_id: str) -> dict[str, Any]:
    with workflow._ctx["db"].read() as session:
        child = session.get(AgentRun, child_id)
        assert child is not None
        status, output, error = child.status, child.output, child.error
        spent = {
            "input_tokens": child.input_tokens,
            "output_tokens": child.output_tokens,
            "cost": child.cost,
        }
    if status != "succeeded":
        message = f"run {child_id} {status}: {error}"
        workflow._record(run_id, key, tool, "agent", status="failed", error=message, **spent)
        return {"error": message}
    workflow._record(run_id, key, tool, "agent", status="succeeded", output=output, **spent)
    return {"output": output}


# ---- map ----------------------------------------------------------------------------------


@DBOS.workflow(name=MAP_ITEM)
def map_item(
    run_id: str,
    run: dict[str, Any],
    key: str,
    name: str,
    raw: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """One item of a map: its step run with ``item`` set (a child workflow of the run)."""
    return run_work(run_id, run, key, name, raw, data)


@DBOS.step(name="promptops_agent_map_begin")
def _map_begin(run_id: str, name: str, items: str, data: dict[str, Any]) -> dict[str, Any]:
    value = calls.select(items, data)
    if not isinstance(value, list):
        error = f"items ({items}) is {type(value).__name__}, not a list"
        workflow._record(run_id, name, name, "map", attempt=True, status="failed", error=error)
        return {"error": f"step {name}: {error}"}
    workflow._record(run_id, name, name, "map", attempt=True, input=value)
    return {"items": value}


def run_map(
    run_id: str, run: dict[str, Any], name: str, step: MapStep, data: dict[str, Any]
) -> dict[str, Any]:
    """A map step: ``{"output": [...]}`` in the items' order, or the first failing item's
    ``{"error"}`` (naming the step and item: ``step lookup[2]: ...``)."""
    begun = _map_begin(run_id, name, step.items, data)
    if "error" in begun:
        return begun
    items: list[Any] = begun["items"]
    body = AgentDefinition.model_validate(run["definition"]).steps[step.step]
    raw = body.model_dump(mode="json")
    handles: dict[int, Any] = {}
    outputs: list[Any] = []
    started = 0
    for i in range(len(items)):
        while started < len(items) and started < i + step.concurrency:
            item_data = {**data, "item": items[started]}
            key = f"{name}[{started}]"
            handles[started] = DBOS.start_workflow(
                map_item, run_id, run, key, step.step, raw, item_data
            )
            started += 1
        result = handles.pop(i).get_result(polling_interval_sec=_POLL)
        if "error" in result:
            _mark(run_id, name, name, "map", {"status": "failed", "error": result["error"]})
            return {"error": result["error"]}
        outputs.append(result["output"])
    _mark(run_id, name, name, "map", {"status": "succeeded", "output": outputs})
    return {"output": outputs}
