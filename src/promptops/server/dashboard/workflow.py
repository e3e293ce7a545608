"""An agent version's workflow as a person reads it: its steps in the order a run meets
them (from ``start``, along ``next``, branch cases, map bodies and tools), each with its
type, what it calls, its settings and the edges to the steps that follow."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from html import escape
from typing import Any

from promptops.contract.agents import (
    AgentDefinition,
    BranchStep,
    HttpStep,
    MapStep,
    PromptStep,
    Step,
    WaitStep,
)

__all__ = ["Edge", "StepView", "workflow_graph", "workflow_steps"]


@dataclass(frozen=True)
class Edge:
    label: str  # next | when <expression> | otherwise | for each item | tool <name>
    target: str


@dataclass
class StepView:
    name: str
    type: str
    calls: str  # what the step runs or calls, in a line
    description: str | None
    details: list[tuple[str, str]] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    entered_by: list[str] = field(default_factory=list)  # the steps with an edge to it

    @property
    def ends(self) -> bool:
        """No edge leaves it: a run ends after it (or, for a map body or a tool, returns)."""
        return not self.edges


def _edges(step: Step) -> list[Edge]:
    if isinstance(step, BranchStep):
        out = [Edge(f"when {case.when}", case.next) for case in step.cases]
        return out + ([Edge("otherwise", step.default)] if step.default else [])
    out = []
    if isinstance(step, MapStep):
        out.append(Edge("for each item", step.step))
    if isinstance(step, PromptStep):
        for tool, binding in step.tools.items():
            if binding.step is not None:
                out.append(Edge(f"tool {tool}", binding.step))
    if step.next is not None:
        out.append(Edge("next", step.next))
    return out


def _described(step: Step) -> tuple[str, list[tuple[str, str]]]:
    details: list[tuple[str, str]] = []
    if isinstance(step, PromptStep):
        pinned = f"v{step.version}" if step.version else "the version active in the environment"
        calls = f"prompt {step.prompt} ({pinned})"
        details += [(f"variable {k}", v) for k, v in step.variables.items()]
        if step.history:
            details.append(("history", step.history))
        for tool, binding in step.tools.items():
            if binding.agent is not None:
                details.append((f"tool {tool}", f"agent {binding.agent}"))
        if step.tools:
            details.append(("max turns", str(step.max_turns)))
        if step.provider:
            details.append(("provider", step.provider))
    elif isinstance(step, HttpStep):
        calls = f"{step.method} {step.url}"
        details += [(f"header {k}", v) for k, v in step.headers.items()]
        if step.body is not None:
            details.append(("body", step.body))
    elif isinstance(step, BranchStep):
        cases = len(step.cases)
        calls = (
            f"picks the next step: the first of {cases} case{'s' if cases > 1 else ''} that holds"
        )
        calls += ", else the default" if step.default else ", else the run ends"
    elif isinstance(step, MapStep):
        calls = f"{step.step} for each item of {step.items}"
        details.append(("concurrency", str(step.concurrency)))
    else:
        assert isinstance(step, WaitStep)
        calls = "waits for input sent through the API or this dashboard"
        if step.prompt:
            details.append(("asks", step.prompt))
    if step.timeout_seconds is not None:
        details.append(("timeout", f"{step.timeout_seconds:g} s"))
    if step.retries:
        details.append(("retries", str(step.retries)))
    return calls, details


def workflow_steps(definition: AgentDefinition) -> list[StepView]:
    """The steps in the order a run meets them: breadth first from ``start`` (edges in
    their written order), then any step no edge names."""
    views = {}
    for name, step in definition.steps.items():
        calls, details = _described(step)
        views[name] = StepView(
            name, step.type, calls, step.description, details, _edges(step), entered_by=[]
        )
    order: list[str] = []
    queue = [definition.start]
    while queue:
        name = queue.pop(0)
        if name in order or name not in views:
            continue
        order.append(name)
        queue += [edge.target for edge in views[name].edges]
    order += [name for name in views if name not in order]
    for name in order:
        for edge in views[name].edges:
            if edge.target in views and name not in views[edge.target].entered_by:
                views[edge.target].entered_by.append(name)
    return [views[name] for name in order]


def pretty_json(value: Any) -> str:
    """A JSON value indented for a ``<pre>`` (keys in their stored order)."""
    return json.dumps(value, indent=2, ensure_ascii=False)


_BOX_W, _BOX_H, _ROW = 220, 30, 52


def _short(text: str, size: int = 28) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def workflow_graph(steps: list[StepView]) -> str:
    """The steps as an inline SVG: one box per step, top to bottom in :func:`workflow_steps`'
    order (each a link to its entry), an arrow down to the step that follows it directly,
    and the other edges as labelled arrows in lanes on the right."""
    row = {view.name: i for i, view in enumerate(steps)}
    parts: list[str] = []
    lane = 0
    for i, view in enumerate(steps):
        y = 10 + i * _ROW
        for edge in view.edges:
            j = row.get(edge.target)
            if j is None:
                continue
            title = (
                f"<title>{escape(view.name)} → {escape(edge.target)}: {escape(edge.label)}</title>"
            )
            if j == i + 1:
                x = 10 + _BOX_W // 2
                parts.append(
                    f'<path class="wf-edge" d="M{x} {y + _BOX_H} V{y + _ROW - 2}"'
                    f' marker-end="url(#wf-arrow)">{title}</path>'
                )
                if edge.label != "next":
                    parts.append(
                        f'<text class="wf-label" x="{x + 6}" y="{y + _BOX_H + 14}">'
                        f"{escape(_short(edge.label))}</text>"
                    )
                continue
            lane += 1
            x0, x = 10 + _BOX_W, 10 + _BOX_W + 18 * lane
            y0, y1 = y + _BOX_H // 2 - 4, 10 + j * _ROW + _BOX_H // 2 + 4
            parts.append(
                f'<path class="wf-edge" d="M{x0} {y0} H{x} V{y1} H{x0 + 2}"'
                f' marker-end="url(#wf-arrow)">{title}</path>'
            )
            parts.append(
                f'<text class="wf-label" x="{x + 4}" y="{y0 - 3}">'
                f"{escape(_short(edge.label))}</text>"
            )
    for i, view in enumerate(steps):
        y = 10 + i * _ROW
        label = escape(_short(f"{view.name} · {view.type}", 30))
        parts.append(
            f'<a href="#step-{escape(view.name)}"><rect class="wf-node wf-node-{view.type}"'
            f' x="10" y="{y}" width="{_BOX_W}" height="{_BOX_H}" rx="6"/>'
            f'<text x="20" y="{y + 19}">{label}</text></a>'
        )
    width = 10 + _BOX_W + 18 * lane + 200
    height = 10 + len(steps) * _ROW
    arrow = (
        '<defs><marker id="wf-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7"'
        ' markerHeight="7" orient="auto-start-reverse">'
        '<path d="M0 0 L10 5 L0 10 z"/></marker></defs>'
    )
    return (
        f'<svg class="wf-graph" role="img" aria-label="The workflow as a graph"'
        f' viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' xmlns="http://www.w3.org/2000/svg">{arrow}{"".join(parts)}</svg>'
    )
