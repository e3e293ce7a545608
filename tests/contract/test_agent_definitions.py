"""Agent definitions (contract/agents.py): a whole workflow is checked on creation, and each
refusal names the step and field."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from promptops.contract.agents import AgentDefinition
from promptops.contract.validation import parse
from promptops.errors import InvalidInputError

TRIAGE: dict[str, Any] = {
    "inputs": [
        {"name": "ticket", "type": "string"},
        {"name": "orders", "type": "list", "required": False},
    ],
    "start": "classify",
    "steps": {
        "classify": {
            "type": "prompt",
            "prompt": "ticket-classifier",
            "variables": {"ticket": "inputs.ticket"},
            "next": "route",
        },
        "route": {
            "type": "branch",
            "cases": [
                {"when": "steps.classify.output.category == 'refund'", "next": "lookup"},
            ],
            "default": "reply",
        },
        "lookup": {
            "type": "map",
            "items": "inputs.orders[*].id",
            "step": "fetch_order",
            "concurrency": 2,
            "next": "review",
        },
        "fetch_order": {
            "type": "http",
            "method": "GET",
            "url": "https://shop.example.com/orders/{{item}}",
            "headers": {"Authorization": "Bearer {{secrets.SHOP_TOKEN}}"},
        },
        "order_tool": {
            "type": "http",
            "method": "GET",
            "url": "https://shop.example.com/orders/{{args.order_id}}",
            "headers": {"Authorization": "Bearer {{secrets.SHOP_TOKEN}}"},
        },
        "review": {
            "type": "wait",
            "prompt": "Refund these orders?",
            "timeout_seconds": 3600,
            "next": "reply",
        },
        "reply": {
            "type": "prompt",
            "prompt": "support-reply",
            "variables": {
                "ticket": "inputs.ticket",
                "category": "steps.classify.output.category",
            },
            "tools": {"get_order": {"step": "order_tool"}},
            "max_turns": 3,
        },
    },
    "output": "steps.reply.output",
}


def test_a_whole_workflow_is_accepted() -> None:
    agent = parse(AgentDefinition, TRIAGE)
    assert agent.start == "classify" and set(agent.steps) == set(TRIAGE["steps"])
    assert agent.steps["lookup"].type == "map"


def _with(change: Any) -> dict[str, Any]:
    made = copy.deepcopy(TRIAGE)
    change(made)
    return made


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (lambda d: d.update(start="nope"), "start", "unknown step"),
        (
            lambda d: d["steps"]["route"]["cases"][0].update(next="gone"),
            "steps.route.cases.0.next",
            "unknown step 'gone'",
        ),
        (lambda d: d["steps"]["reply"].update(next="classify"), "steps.reply.next", "cycle"),
        (lambda d: d["steps"]["classify"].update(next="classify"), "steps.classify.next", "itself"),
        (
            lambda d: d["steps"].update(orphan={"type": "wait"}),
            "steps.orphan",
            "no path from start",
        ),
        (
            lambda d: d["steps"]["classify"]["variables"].update(x="inputs.missing"),
            "steps.classify.variables.x",
            "not declared",
        ),
        (
            lambda d: d["steps"]["classify"]["variables"].update(x="steps.reply.output"),
            "steps.classify.variables.x",
            "has not run before",
        ),
        (
            # lookup runs on one branch only: reply cannot count on it
            lambda d: d["steps"]["reply"]["variables"].update(x="steps.lookup.output"),
            "steps.reply.variables.x",
            "has not run before",
        ),
        (
            lambda d: d["steps"]["classify"]["variables"].update(x="inputs.ticket ==="),
            "steps.classify.variables.x",
            "not a JMESPath expression",
        ),
        (
            lambda d: d["steps"]["classify"]["variables"].update(x="item"),
            "steps.classify.variables.x",
            "only set in a step a map runs",
        ),
        (
            lambda d: d["steps"]["classify"]["variables"].update(x="secrets.SHOP_TOKEN"),
            "steps.classify.variables.x",
            "only in http steps",
        ),
        (
            lambda d: d["steps"]["fetch_order"].update(body="{{#open}}"),
            "steps.fetch_order.body",
            "line 1",
        ),
        (
            lambda d: d["steps"]["fetch_order"]["headers"].update(X="{{secrets.lower}}"),
            "steps.fetch_order.headers.X",
            "upper case",
        ),
        (
            lambda d: d["steps"]["reply"]["tools"].update(bad={"step": "review"}),
            "steps.reply.tools.bad.step",
            "not an http step",
        ),
        (
            lambda d: d["steps"]["reply"]["tools"].update(bad={}),
            "steps.reply.tools.bad",
            "step or agent",
        ),
        (
            lambda d: d["steps"]["fetch_order"].update(next="review"),
            "steps.fetch_order.next",
            "leads nowhere",
        ),
        (
            lambda d: d["steps"]["route"].update(default="fetch_order"),
            "steps.route.default",
            "runs inside a map",
        ),
        (
            lambda d: d["steps"]["route"].update(default="order_tool"),
            "steps.route.default",
            "runs inside a tool call",
        ),
        (lambda d: d["steps"]["lookup"].update(step="review"), "steps.lookup.step", "not a wait"),
        (
            lambda d: d["steps"]["reply"]["tools"].update(x={"step": "fetch_order"}),
            "steps.lookup.step",
            "not both",
        ),
        (
            lambda d: d["steps"]["fetch_order"].update(body="{{args.order_id}}"),
            "steps.fetch_order.body",
            "only set in an http step bound as a tool",
        ),
        (
            lambda d: d["steps"]["reply"]["variables"].update(x="args"),
            "steps.reply.variables.x",
            "only set in an http step bound as a tool",
        ),
        (
            # the map's output is the list of its items' outputs: not there for its step
            lambda d: d["steps"]["fetch_order"].update(body="{{steps.lookup.output}}"),
            "steps.fetch_order.body",
            "has not run before",
        ),
        (lambda d: d["steps"]["route"].update(type="loop"), "steps.route", ""),
        (lambda d: d["steps"]["lookup"].update(concurrency=0), "steps.lookup.concurrency", ""),
        (lambda d: d.update(output="steps.nothing.output"), "output", "has not run"),
        (
            lambda d: d["steps"]["route"]["cases"][0].update(when="foo.bar"),
            "steps.route.cases.0.when",
            "not in the run's data",
        ),
    ],
)
def test_refusals_name_the_step_and_field(change: Any, field: str, words: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        parse(AgentDefinition, _with(change))
    assert caught.value.field is not None and caught.value.field.startswith(field), (
        caught.value.field,
        caught.value.message,
    )
    assert words in caught.value.message


def test_size_limits() -> None:
    steps = {f"s{i}": {"type": "wait", "next": f"s{i + 1}"} for i in range(201)}
    with pytest.raises(InvalidInputError, match="steps"):
        parse(AgentDefinition, {"start": "s0", "steps": steps})


def test_the_guides_yaml_example_is_a_valid_definition() -> None:
    import re
    from pathlib import Path

    import yaml

    guide = (Path(__file__).resolve().parents[2] / "docs" / "agents.md").read_text()
    # the agent file the guide writes (a heredoc) and pushes with `promptops sync push`
    [block] = re.findall(r"<<'YAML'\n(.*?)\nYAML\n", guide, flags=re.S)
    agent = parse(AgentDefinition, yaml.safe_load(block)["definition"])
    assert agent == parse(AgentDefinition, TRIAGE)  # the same workflow as these tests'
