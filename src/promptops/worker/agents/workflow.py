"""The durable workflow of one run: DBOS checkpoints each step's result, so a worker killed
mid-run resumes from the last completed step (a completed step is never run again; the
one in flight runs again). Our tables (agent_runs, agent_run_steps) are what the API shows,
written by the steps themselves."""

from __future__ import annotations

import time
from typing import Any

from dbos import DBOS

from promptops.contract.agents import AgentDefinition, BranchStep, HttpStep, PromptStep, WaitStep
from promptops.db.models import AgentRun, AgentRunStep, PromptVersion, utcnow
from promptops.domain import agent_runs
from promptops.worker.agents import calls

__all__ = ["WORKFLOW_NAME", "agent_run", "configure"]

WORKFLOW_NAME = "promptops_agent_run"
INPUT_TOPIC = "input"
_ctx: dict[str, Any] = {}


def configure(db: Any, box: Any, allow_private: bool) -> None:
    _ctx.update(db=db, box=box, allow_private=allow_private)


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


def _record(run_id: str, key: str, name: str, kind: str, **fields: Any) -> AgentRunStep | None:
    with _ctx["db"].write() as session:
        run = session.get(AgentRun, run_id)
        if run is None:
            return None
        row = session.query(AgentRunStep).filter_by(run_id=run_id, key=key).one_or_none()
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
            elif field in ("input_tokens", "output_tokens", "cost"):
                setattr(row, field, value)
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
    definition = AgentDefinition.model_validate(run["definition"])
    parsed = definition.steps[name]
    timeout = parsed.timeout_seconds or 60.0
    ctx = _context(run)
    _record(run_id, key, name, parsed.type, input=None)
    delay = 0.1
    for attempt in range(parsed.retries + 1):
        _record(run_id, key, name, parsed.type, attempt=True, status="running")
        try:
            if isinstance(parsed, PromptStep):
                output, tin, tout, cost = calls.call_prompt(ctx, parsed, data, timeout)
            elif isinstance(parsed, HttpStep):
                output, tin, tout, cost = calls.call_http(ctx, parsed, data, timeout), 0, 0, 0.0
            else:
                raise calls.StepError(f"{parsed.type} steps do not run as work")
        except calls.StepError as exc:
            if exc.retry and attempt < parsed.retries:
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            status = "timed_out" if exc.timed_out else "failed"
            why = f"{exc} (its timeout_seconds)" if exc.timed_out else str(exc)
            _record(run_id, key, name, parsed.type, status=status, error=why)
            return {"error": f"step {key}: {why}", "status": status}
        _record(
            run_id,
            key,
            name,
            parsed.type,
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
    _record(run_id, key, key, "branch", attempt=True, status="succeeded", output=chosen)
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
        if step.type == "map":
            _finish(run_id, "failed", None, f"step {name}: map steps are not run yet")
            return
        result = _work(run_id, run, name, name, raw, data)
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
