"""The durable workflow of one run: DBOS checkpoints each step's result, so a worker killed
mid-run resumes from the last completed step (a completed step is never run again; the
one in flight runs again). Our tables (agent_runs, agent_run_steps) are what the API shows,
written by the steps themselves."""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOS
from pydantic import TypeAdapter
from sqlalchemy import func
from sqlalchemy import select as sql_select

from promptops.contract.agents import (
    AgentDefinition,
    BranchStep,
    HttpStep,
    MapStep,
    PromptStep,
    Step,
    WaitStep,
)
from promptops.db.models import AgentRun, AgentRunStep, PromptVersion, utcnow
from promptops.domain import agent_runs
from promptops.worker.agents import calls, steps

__all__ = ["WORKFLOW_NAME", "agent_run", "configure"]

WORKFLOW_NAME = "promptops_agent_run"
INPUT_TOPIC = "input"
_ctx: dict[str, Any] = {}
_STEP: TypeAdapter[Step] = TypeAdapter(Step)


def configure(db: Any, box: Any, allow_private: bool, *, covered_commits: bool = False) -> None:
    """``covered_commits``: DBOS's tables are in our PostgreSQL database (see _write)."""
    _ctx.update(db=db, box=box, allow_private=allow_private, covered_commits=covered_commits)


def _lazy_commit(covered: bool) -> bool:
    """Whether a write of our rows may commit without waiting for its disk flush.
    ``covered``: it is inside a DBOS step that checkpoints after it (the per-step
    bookkeeping). On PostgreSQL, with DBOS's tables in the same database, such a commit
    (``synchronous_commit`` off, that transaction only) is made durable by the step's
    checkpoint, committed next with a flush of the log up to it: exactly as durable as
    that checkpoint. A killed worker loses nothing committed either way; a database crash
    can lose only what DBOS then runs again."""
    return covered and bool(_ctx.get("covered_commits"))


def _context(run: dict[str, Any]) -> calls.Context:
    return calls.Context(
        _ctx["db"], _ctx["box"], _ctx["allow_private"], run["project_id"], run["environment"]
    )


@DBOS.step(name="promptops_agent_begin")
def _begin(run_id: str) -> dict[str, Any] | None:
    with _ctx["db"].write() as session:
        run = session.get(AgentRun, run_id)
        if run is None or run.status in agent_runs.FINISHED:
            return None
        run.status = "running"
        run.started_at = run.started_at or utcnow()
        version = session.get(PromptVersion, run.version_id)
        assert version is not None
        return {
            "project_id": run.project_id,
            "environment": run.environment,
            "inputs": run.inputs,
            "definition": version.definition,
            "deadline": run.created_at.timestamp(),
        }


def _record(
    run_id: str, key: str, name: str, kind: str, *, covered: bool = False, **fields: Any
) -> AgentRunStep | None:
    """Update (or make) the step's row; ``covered``: see :func:`_lazy_commit`."""
    query = (  # the run and the step's row in one round trip
        sql_select(AgentRun, AgentRunStep)
        .outerjoin(AgentRunStep, (AgentRunStep.run_id == AgentRun.id) & (AgentRunStep.key == key))
        .where(AgentRun.id == run_id)
        # locked (PostgreSQL): a map's items record at once, their counts must all add up
        .with_for_update(of=AgentRun)
    )
    if _lazy_commit(covered):  # SET LOCAL, in the same round trip
        query = query.add_columns(func.set_config("synchronous_commit", "off", True))
    with _ctx["db"].write() as session:
        found = session.execute(query).first()
        if found is None:
            return None
        run, row = found[0], found[1]
        if row is None:
            row = AgentRunStep(
                run_id=run_id,
                seq=run.steps_run,
                key=key,
                name=name,
                type=kind,
                status="running",
                attempts=0,
                input_tokens=0,
                output_tokens=0,
                cost=0.0,
                started_at=utcnow(),
            )
            run.steps_run += 1
            session.add(row)
        for field, value in fields.items():
            if field == "attempt":
                row.attempts += 1
            elif field in ("input_tokens", "output_tokens", "cost"):  # added: turns add up
                setattr(row, field, getattr(row, field) + value)
                setattr(run, field, getattr(run, field) + value)
            elif field == "run_status":
                if run.status not in agent_runs.FINISHED:
                    run.status = value
            else:
                setattr(row, field, value)
        if fields.get("status") in ("succeeded", "failed", "timed_out"):
            row.finished_at = utcnow()
        return row


@DBOS.step(name="promptops_agent_step")
def _work(
    run_id: str,
    run: dict[str, Any],
    key: str,
    name: str,
    step: dict[str, Any],
    data: dict[str, Any],
) -> dict[str, Any]:
    """One step with its retries; a failure is returned (checkpointed), not raised."""
    parsed = _STEP.validate_python(step)  # this step only: not the whole definition again
    timeout = parsed.timeout_seconds or 60.0
    ctx = _context(run)
    delay = 0.1
    for attempt in range(parsed.retries + 1):
        # One transaction per attempt's start (the row is made by the first) and one at
        # the end: a killed worker leaves the attempt counted and the step "running".
        _record(run_id, key, name, parsed.type, covered=True, attempt=True, status="running")
        cost = 0.0
        try:
            if isinstance(parsed, PromptStep):
                reply = calls.call_prompt(ctx, parsed, data, timeout)
                output, tin, tout, cost = reply.output, *steps.usage(reply)
                if reply.tool_calls:  # the tool loop goes on in the workflow (steps.py)
                    _record(
                        run_id, key, name, "prompt", input_tokens=tin, output_tokens=tout, cost=cost
                    )
                    return {"pending": steps.pending(reply, 1)}
            elif isinstance(parsed, HttpStep):
                output, tin, tout, cost = calls.call_http(ctx, parsed, data, timeout), 0, 0, 0.0
            else:
                raise calls.StepError(f"{parsed.type} steps do not run as work")
        except calls.StepError as exc:
            if exc.usage:  # a reply was paid for
                _record(run_id, key, name, parsed.type, **exc.usage)
            if exc.retry and attempt < parsed.retries:
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            status = "timed_out" if exc.timed_out else "failed"
            why = f"{exc} (its timeout_seconds)" if exc.timed_out else str(exc)
            _record(run_id, key, name, parsed.type, covered=True, status=status, error=why)
            return {"error": f"step {key}: {why}", "status": status}
        _record(
            run_id,
            key,
            name,
            parsed.type,
            covered=True,
            status="succeeded",
            output=output,
            input_tokens=tin,
            output_tokens=tout,
            cost=cost,
        )
        return {"output": output}
    raise AssertionError("unreachable")


@DBOS.step(name="promptops_agent_branch")
def _branch(run_id: str, key: str, step: dict[str, Any], data: dict[str, Any]) -> str | None:
    parsed = BranchStep.model_validate(step)
    chosen = parsed.default
    for case in parsed.cases:
        if calls.select(case.when, data):
            chosen = case.next
            break
    _record(
        run_id, key, key, "branch", covered=True, attempt=True, status="succeeded", output=chosen
    )
    return chosen


def _run_timeout(definition: AgentDefinition) -> str:
    return f"the run ran past its timeout_seconds ({definition.timeout_seconds:g} s)"


@DBOS.step(name="promptops_agent_budget")
def _spent(run_id: str) -> float:
    with _ctx["db"].read() as session:
        run = session.get(AgentRun, run_id)
        return run.cost if run is not None else 0.0


def over_budget(run_id: str, max_cost: float | None) -> str | None:
    """Why the run must stop after a step: its cost so far exceeds ``max_cost`` (a checkpointed
    read, so a recovered run decides as it did; no read at all without a budget)."""
    if max_cost is None:
        return None
    spent = _spent(run_id)
    if spent <= max_cost:
        return None
    return f"max_cost exceeded: the run cost {spent:.6g} USD, over its max_cost of {max_cost:g}"


@DBOS.step(name="promptops_agent_finish")
def _finish(run_id: str, status: str, output: Any, error: str | None) -> None:
    with _ctx["db"].write() as session:
        run = session.get(AgentRun, run_id)
        if run is not None:
            agent_runs.finish(session, run, status, output=output, error=error)


@DBOS.workflow(name=WORKFLOW_NAME)
def agent_run(run_id: str) -> None:
    run = _begin(run_id)
    if run is None:
        return
    definition = AgentDefinition.model_validate(run["definition"])
    deadline = run["deadline"] + definition.timeout_seconds
    data: dict[str, Any] = {"inputs": run["inputs"], "steps": {}}
    name: str | None = definition.start
    last: Any = None
    count = 0
    while name is not None:
        count += 1
        if count > definition.max_steps:
            _finish(run_id, "failed", None, f"more than max_steps ({definition.max_steps})")
            return
        if time.time() > deadline:
            _finish(run_id, "timed_out", None, _run_timeout(definition))
            return
        step = definition.steps[name]
        raw = step.model_dump(mode="json")
        if isinstance(step, BranchStep):
            name = _branch(run_id, name, raw, data)
            continue
        if isinstance(step, WaitStep):
            _record(
                run_id, name, name, "wait", attempt=True, status="waiting", run_status="waiting"
            )
            own = step.timeout_seconds or 86400.0
            limit = min(own, max(deadline - time.time(), 0.0))
            message = DBOS.recv(INPUT_TOPIC, timeout_seconds=limit)
            if isinstance(message, dict) and message.get("cancelled"):
                return  # cancelled while waiting (the run row says so already)
            got = message["input"] if isinstance(message, dict) else None
            if message is None:
                why = (
                    f"step {name}: no input within its timeout_seconds ({own:g} s)"
                    if limit >= own
                    else _run_timeout(definition)
                )
                _record(run_id, name, name, "wait", status="timed_out", error=why)
                _finish(run_id, "timed_out", None, why)
                return
            _record(
                run_id, name, name, "wait", status="succeeded", output=got, run_status="running"
            )
            data["steps"][name] = {"output": got}
            last, name = got, step.next
            continue
        if isinstance(step, MapStep):
            result = steps.run_map(run_id, run, name, step, data)
        else:
            result = steps.run_work(run_id, run, name, name, raw, data)
        if "error" in result:
            _finish(run_id, result.get("status", "failed"), None, result["error"])
            return
        data["steps"][name] = {"output": result["output"]}
        last = result["output"]
        name = step.next
        if (over := over_budget(run_id, definition.max_cost)) is not None:
            _finish(run_id, "failed", None, over)
            return
    output = calls.select(definition.output, data) if definition.output else last
    _finish(run_id, "succeeded", output, None)
