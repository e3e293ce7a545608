"""The floor: DBOS Transact alone running the same chain (each http step a DBOS step, the
same ``calls.call_http``), through the same queue, without our bookkeeping (no rows of ours
per step, no run row): what durable execution on DBOS costs before PromptOps adds anything."""

from __future__ import annotations

import threading
from typing import Any

from dbos import DBOS

from promptops.contract.agents import HttpStep
from promptops.worker.agents import calls

__all__ = ["WORKFLOW", "configure"]

WORKFLOW = "promptops_bench_bare_chain"
_state: dict[str, Any] = {}


def configure(ctx: calls.Context) -> None:
    _state["ctx"] = ctx


def done(workflow_id: str, timeout: float = 120.0) -> bool:
    """Wait for the chain ``workflow_id`` to have run its last step (signalled in process,
    as the engine's runs are by their completion change)."""
    cond: threading.Condition = _state.setdefault("cond", threading.Condition())
    finished: set[str] = _state.setdefault("done", set())
    with cond:
        return cond.wait_for(lambda: workflow_id in finished, timeout)


def _signal(workflow_id: str) -> None:
    cond: threading.Condition = _state.setdefault("cond", threading.Condition())
    with cond:
        _state.setdefault("done", set()).add(workflow_id)
        cond.notify_all()


@DBOS.step(name="promptops_bench_bare_step")
def _step(step: dict[str, Any], data: dict[str, Any]) -> Any:
    return calls.call_http(_state["ctx"], HttpStep.model_validate(step), data, 60.0)


@DBOS.workflow(name=WORKFLOW)
def bare_chain(definition: dict[str, Any]) -> Any:
    steps = definition["steps"]
    name: str | None = definition["start"]
    data: dict[str, Any] = {"inputs": {"n": "1"}, "steps": {}}
    out: Any = None
    while name is not None:
        out = _step(steps[name], data)
        data["steps"][name] = {"output": out}
        name = steps[name].get("next")
    _signal(DBOS.workflow_id or "")
    return out
