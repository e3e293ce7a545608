"""An agent version's workflow: declared inputs, an output, and named steps.

Steps run from ``start`` along their ``next`` edges:

- ``prompt`` runs a prompt (``prompt``: its slug, the version active in the run's environment
  or ``version``), its ``variables`` mapped by expressions; with ``tools``, the tool-calling
  loop (up to ``max_turns``), each tool bound to an ``http`` step or another agent;
- ``http`` calls ``url`` (``method``, templated ``headers`` and ``body``; secrets as
  ``{{secrets.NAME}}``, never written in the definition);
- ``branch`` picks the next step: the first case whose ``when`` holds, else ``default``;
- ``map`` runs the step ``step`` for each item of ``items`` (at most ``concurrency`` at once);
- ``wait`` waits for input sent through the API (human review), up to ``timeout_seconds``.

Data selection and conditions are JMESPath expressions over the run's data
``{"inputs": ..., "steps": {name: {"output": ...}}, "item": ..., "args": ...}`` (``item``: in
a map's step, the item; ``args``: in an http step bound as a tool, the call's arguments);
strings (urls, headers, bodies) are templates with the prompt templates' rules. A map's
step and a tool's step are *inner* steps: run from inside their owner, never led to by an
edge, with no ``next`` of their own. A definition is checked whole when
it is created: an unknown step, a cycle, a step no path reaches, an expression that does not
compile or reads an undeclared input or a step that has not run before it — each is refused
naming the step and field (``steps.route.cases.0.next: ...``).
"""

# mypy: disable-error-code="valid-type"
# (the fields use the contract's Str(...) types, which mypy takes for variables)
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Self

import jmespath
from jmespath import exceptions as jmespath_errors
from pydantic import Field, model_validator

from promptops.contract.content import InputDecl
from promptops.contract.fields import Input, Str
from promptops.contract.slugs import Slug
from promptops.errors import TemplateError
from promptops.templating import compile_template

__all__ = [
    "AgentDefinition",
    "AgentVersionCreate",
    "BranchStep",
    "HttpStep",
    "MapStep",
    "PromptStep",
    "Step",
    "WaitStep",
    "file_definition",
    "stored_columns",
]

MAX_STEPS = 200
StepName = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$"),
]
Expression = Str(2000, 1)  # a JMESPath expression over {inputs, steps, item}
Template = Str(100_000)  # a template (the prompt templates' rules)


class _Step(Input):
    description: Str(1000) | None = None
    timeout_seconds: Annotated[float, Field(gt=0, le=7 * 86400)] | None = None
    retries: Annotated[int, Field(ge=0, le=10)] = 0


class ToolBinding(Input):
    """What answers a tool call: an ``http`` step of this agent, or another agent."""

    step: StepName | None = None
    agent: Slug | None = None

    @model_validator(mode="after")
    def _one(self) -> Self:
        if (self.step is None) == (self.agent is None):
            raise ValueError("give step or agent, one of them")
        return self


class PromptStep(_Step):
    type: Literal["prompt"]
    prompt: Slug
    version: Annotated[int, Field(ge=1, le=2_147_483_647)] | None = None
    variables: dict[str, Expression] = Field(default_factory=dict)
    history: Expression | None = None
    tools: dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")], ToolBinding] = Field(
        default_factory=dict
    )
    max_turns: Annotated[int, Field(ge=1, le=50)] = 5
    provider: Slug | None = Field(None, description="A provider connection of the project")
    next: StepName | None = None


class HttpStep(_Step):
    type: Literal["http"]
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = "POST"
    url: Str(2048, 1)
    headers: dict[Annotated[str, Field(max_length=200)], Template] = Field(default_factory=dict)
    body: Template | None = None
    next: StepName | None = None


class BranchCase(Input):
    when: Expression
    next: StepName


class BranchStep(_Step):
    type: Literal["branch"]
    cases: Annotated[list[BranchCase], Field(min_length=1, max_length=50)]
    default: StepName | None = None


class MapStep(_Step):
    type: Literal["map"]
    items: Expression
    step: StepName = Field(
        description="The prompt or http step run for each item (it reads `item`; no `next`)"
    )
    concurrency: Annotated[int, Field(ge=1, le=50)] = 4
    next: StepName | None = None


class WaitStep(_Step):
    type: Literal["wait"]
    prompt: Str(2000) | None = Field(None, description="What the reviewer is asked")
    next: StepName | None = None


Step = Annotated[
    PromptStep | HttpStep | BranchStep | MapStep | WaitStep, Field(discriminator="type")
]


class AgentDefinition(Input):
    inputs: Annotated[list[InputDecl], Field(max_length=100)] = Field(default_factory=list)
    output: Expression | None = Field(
        None, description="The run's output (default: the last step's output)"
    )
    start: StepName
    steps: Annotated[dict[StepName, Step], Field(min_length=1, max_length=MAX_STEPS)]
    max_steps: Annotated[int, Field(ge=1, le=10_000)] = 100
    timeout_seconds: Annotated[float, Field(gt=0, le=30 * 86400)] = 3600
    max_cost: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = None

    @model_validator(mode="after")
    def _graph(self) -> Self:
        _check(self)
        return self


class AgentVersionCreate(AgentDefinition):
    """``POST /v1/agents/{slug}/versions``: the workflow, and why it changed."""

    commit_message: Str(2000) | None = None
    author: Str(200) | None = None


# ---- stored and written forms ----------------------------------------------------------

# The order a definition's keys are written in a file (the rest follow in model order).
_TOP_ORDER = ("inputs", "start", "steps", "output", "max_steps", "timeout_seconds", "max_cost")


def stored_columns(definition: AgentDefinition) -> dict[str, Any]:
    """A version's columns for ``definition``: the workflow in ``definition`` (every field,
    defaults included), its inputs as a prompt's declared inputs, the chat columns empty
    (``model`` says what it is). The server stores these; GitOps hashes them."""
    data = definition.model_dump(mode="json", exclude_none=True)
    data.pop("commit_message", None)
    data.pop("author", None)
    return {
        "messages": None,
        "text": None,
        "model": "agent",
        "temperature": 0.0,
        "max_tokens": None,
        "params": None,
        "inputs": data.get("inputs") or None,
        "tools": None,
        "tool_choice": None,
        "response_format": None,
        "meta": {},
        "definition": data,
    }


def file_definition(definition: AgentDefinition) -> dict[str, Any]:
    """``definition`` as a GitOps file writes it: fields at their default left out, the
    top-level keys in :data:`_TOP_ORDER`, each step's ``type`` and ``description`` first,
    its own fields, then ``timeout_seconds``, ``retries`` and ``next`` (so a definition
    always reads the same whoever wrote it)."""
    data = definition.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data.pop("commit_message", None)
    data.pop("author", None)
    steps: dict[str, Any] = {}
    for name, step in definition.steps.items():
        body = step.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
        first = {k: body.pop(k) for k in ("description",) if k in body}
        last = {k: body.pop(k) for k in ("timeout_seconds", "retries", "next") if k in body}
        steps[name] = {"type": step.type, **first, **body, **last}
    data["steps"] = steps
    data["start"] = definition.start
    ordered = {k: data[k] for k in _TOP_ORDER if k in data}
    return ordered | {k: v for k, v in data.items() if k not in ordered}


# ---- the checks -------------------------------------------------------------------------


def _edges(step: Any) -> Iterator[tuple[str, str]]:
    """(field, target) of each edge leaving ``step`` along the run's path."""
    if isinstance(step, BranchStep):
        for i, case in enumerate(step.cases):
            yield f"cases.{i}.next", case.next
        if step.default:
            yield "default", step.default
    elif step.next:
        yield "next", step.next


def _inner(step: Any) -> Iterator[tuple[str, str]]:
    """(field, step) run from inside ``step``: a map's body, prompt tools bound to steps."""
    if isinstance(step, MapStep):
        yield "step", step.step
    if isinstance(step, PromptStep):
        for tool, binding in step.tools.items():
            if binding.step:
                yield f"tools.{tool}.step", binding.step


def _expressions(step: Any) -> Iterator[tuple[str, str]]:
    if isinstance(step, PromptStep):
        yield from ((f"variables.{k}", v) for k, v in step.variables.items())
        if step.history:
            yield "history", step.history
    elif isinstance(step, BranchStep):
        yield from ((f"cases.{i}.when", c.when) for i, c in enumerate(step.cases))
    elif isinstance(step, MapStep):
        yield "items", step.items


def _templates(step: Any) -> Iterator[tuple[str, str]]:
    if isinstance(step, HttpStep):
        yield "url", step.url
        yield from ((f"headers.{k}", v) for k, v in step.headers.items())
        if step.body is not None:
            yield "body", step.body


def _check(agent: AgentDefinition) -> None:
    names = set(agent.steps)
    if agent.start not in names:
        raise ValueError(f"start: unknown step {agent.start!r}")
    for name, step in agent.steps.items():
        for field, target in [*_edges(step), *_inner(step)]:
            if target not in names:
                raise ValueError(f"steps.{name}.{field}: unknown step {target!r}")
            if target == name:
                raise ValueError(f"steps.{name}.{field}: a step cannot lead to itself")
        if isinstance(step, PromptStep):
            for tool, binding in step.tools.items():
                if binding.step and not isinstance(agent.steps[binding.step], HttpStep):
                    raise ValueError(
                        f"steps.{name}.tools.{tool}.step: {binding.step!r} is not an http step"
                    )
    _check_inner(agent)
    order = _order(agent)
    _reachable(agent, order)
    declared = {i.name for i in agent.inputs}
    before = _before(agent, order)
    bodies, tools = _map_bodies(agent), _tool_steps(agent)
    for name, step in agent.steps.items():
        scope = Scope(declared, before[name], name in bodies, name in tools)
        for field, source in _expressions(step):
            _check_expression(source, f"steps.{name}.{field}", scope)
        for field, source in _templates(step):
            _check_template(source, f"steps.{name}.{field}", scope)
    if agent.output:
        _check_expression(agent.output, "output", Scope(declared, names, False, False))


def _check_inner(agent: AgentDefinition) -> None:
    """A map's step and a tool's step run inside their owner: a prompt or http step (a
    tool's: http), never ``start`` nor an edge's target, without a ``next``; a step is a
    map's or a tool's, not both."""
    bodies, tools = _map_bodies(agent), _tool_steps(agent)
    for name, step in agent.steps.items():
        if isinstance(step, MapStep):
            body = agent.steps[step.step]
            if not isinstance(body, PromptStep | HttpStep):
                raise ValueError(
                    f"steps.{name}.step: a map runs a prompt or http step,"
                    f" not a {body.type} step ({step.step!r})"
                )
            if step.step in tools:
                raise ValueError(
                    f"steps.{name}.step: {step.step!r} is bound as a tool too;"
                    " a step is a map's or a tool's, not both"
                )
        for field, target in _edges(step):
            if target in bodies or target in tools:
                raise ValueError(
                    f"steps.{name}.{field}: {target!r} runs inside a"
                    f" {'map' if target in bodies else 'tool call'}; no edge leads to it"
                )
        if (name in bodies or name in tools) and getattr(step, "next", None):
            raise ValueError(
                f"steps.{name}.next: a step run by a {'map' if name in bodies else 'tool'}"
                " returns to it and leads nowhere (remove next)"
            )
    if agent.start in bodies or agent.start in tools:
        raise ValueError(f"start: {agent.start!r} runs inside a map or a tool call")


def _order(agent: AgentDefinition) -> list[str]:
    """The steps in an order where each comes after every step that leads to it; a cycle
    is an error naming one of its edges."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    out: list[str] = []

    def visit(name: str) -> None:
        state[name] = 1
        step = agent.steps[name]
        for field, target in [*_edges(step), *_inner(step)]:
            if state.get(target) == 1:
                raise ValueError(
                    f"steps.{name}.{field}: {target!r} leads back to {name!r} (a cycle);"
                    " repeat work with a map step or a prompt's tool loop"
                )
            if target not in state:
                visit(target)
        state[name] = 2
        out.append(name)

    for name in agent.steps:
        if name not in state:
            visit(name)
    return out[::-1]


def _reachable(agent: AgentDefinition, order: list[str]) -> None:
    seen = {agent.start}
    todo = [agent.start]
    while todo:
        step = agent.steps[todo.pop()]
        for _, target in [*_edges(step), *_inner(step)]:
            if target not in seen:
                seen.add(target)
                todo.append(target)
    lost = [n for n in order if n not in seen]
    if lost:
        raise ValueError(f"steps.{lost[0]}: no path from start ({agent.start!r}) reaches it")


def _map_bodies(agent: AgentDefinition) -> set[str]:
    return {s.step for s in agent.steps.values() if isinstance(s, MapStep)}


def _tool_steps(agent: AgentDefinition) -> set[str]:
    return {
        b.step
        for s in agent.steps.values()
        if isinstance(s, PromptStep)
        for b in s.tools.values()
        if b.step is not None
    }


def _before(agent: AgentDefinition, order: list[str]) -> dict[str, set[str]]:
    """For each step, the steps that have run whenever it runs (on every path to it)."""
    parents: dict[str, list[tuple[str, bool]]] = {n: [] for n in agent.steps}
    for name, step in agent.steps.items():
        for _, target in _edges(step):
            parents[target].append((name, False))
        for _, target in _inner(step):  # runs inside its owner: before the owner's end
            parents[target].append((name, True))
    done: dict[str, set[str]] = {}
    for name in order:
        ins = [done[p] if inner else done[p] | {p} for p, inner in parents[name] if p in done]
        done[name] = set.intersection(*ins) if ins else set()
    return done


@dataclass(frozen=True)
class Scope:
    """What an expression of a step may read: the declared inputs, the steps run before it
    on every path, ``item`` (a map's step), ``args`` (a tool's step)."""

    inputs: set[str]
    before: set[str]
    item: bool
    args: bool


def _check_expression(source: str, field: str, scope: Scope) -> None:
    try:
        tree = jmespath.compile(source).parsed
    except jmespath_errors.JMESPathError as exc:
        raise ValueError(f"{field}: not a JMESPath expression: {exc}") from None
    for path in _paths(tree):
        _check_path(path, field, scope)


def _check_template(source: str, field: str, scope: Scope) -> None:
    try:
        template = compile_template(source)
    except TemplateError as exc:
        raise ValueError(f"{field}: {exc}") from None
    del template  # it compiles; the names it reads, dotted (variables and sections):
    for name in _TAG_NAMES.findall(source):
        if name != ".":
            _check_path(name.split("."), field, scope, secrets=True)


_HEADS = ("inputs", "steps", "item", "args")


def _check_path(path: list[str], field: str, scope: Scope, secrets: bool = False) -> None:
    head = path[0]
    known = (*_HEADS, "secrets") if secrets else _HEADS
    if head == "secrets" and not secrets:
        raise ValueError(f"{field}: secrets are read only in http steps' url, headers and body")
    if head not in known:
        raise ValueError(
            f"{field}: reads {head!r}, which is not in the run's data ({', '.join(known)})"
        )
    if head == "inputs" and len(path) > 1 and path[1] not in scope.inputs:
        raise ValueError(f"{field}: input {path[1]!r} is not declared in inputs")
    if head == "steps" and len(path) > 1 and path[1] not in scope.before:
        raise ValueError(f"{field}: step {path[1]!r} has not run before this step on every path")
    if head == "item" and not scope.item:
        raise ValueError(f"{field}: item is only set in a step a map runs")
    if head == "args" and not scope.args:
        raise ValueError(
            f"{field}: args (a tool call's arguments) are only set in an http step bound as"
            " a tool (a prompt step's tools.<name>.step)"
        )
    if head == "secrets" and (len(path) < 2 or not path[1].isupper()):
        raise ValueError(f"{field}: name a secret in upper case, e.g. secrets.API_TOKEN")


_TAG_NAMES = re.compile(r"\{\{\{?\s*[#^&/]?\s*([A-Za-z_][\w.-]*|\.)")
_SCOPED = ("projection", "index_expression", "filter_projection", "flatten")


def _paths(node: Any) -> Iterator[list[str]]:
    """The dotted field paths an expression reads from the run's data (``inputs.ticket``,
    ``steps.classify.output``); what a projection or filter reads of each element is
    relative to it, not the root, and is not checked."""
    if not isinstance(node, dict):
        return
    kind = node.get("type")
    if kind == "field":
        yield [node["value"]]
    elif kind == "subexpression":
        children = node["children"]
        chain: list[str] = []
        for child in children:
            if child.get("type") == "field":
                chain.append(child["value"])
                continue
            if child.get("type") in _SCOPED:  # e.g. inputs.orders[*].id: orders is read
                first = child["children"][0] if child["children"] else {}
                if first.get("type") == "field":
                    chain.append(first["value"])
            break
        if chain and children[0].get("type") == "field":
            yield chain
        else:
            yield from _paths(children[0])
    elif kind in _SCOPED:
        yield from _paths(node["children"][0] if node["children"] else None)
    elif kind not in ("literal", "current", "expref"):
        for child in node.get("children", []):
            yield from _paths(child)
