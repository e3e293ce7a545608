"""Which webhook event types PromptOps actually sends, read from the code that sends them.

An event exists when a service records a :class:`~promptops.domain.changes.Change` whose kind
:mod:`promptops.domain.events` turns into an event type. So the types on offer (the
dashboard's webhook form) are found by reading the package's own source for
``Change(<kind>, ...)`` calls, not kept as a second list: a type whose feature is not built
yet (``agent_run_completed`` before agents run) is not offered, and one starts being offered
the day its code records it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

from promptops.domain import events
from promptops.domain.changes import ChangeKind

__all__ = ["recorded_kinds", "sent_event_types"]

_PACKAGE = Path(__file__).resolve().parents[1]  # src/promptops
_SKIP = {"sdk", "contract", "cli"}  # these never record changes


def _kind_of(node: ast.expr) -> ChangeKind | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute | ast.Name):
        base = node.value.attr if isinstance(node.value, ast.Attribute) else node.value.id
        if base == "ChangeKind" and node.attr in ChangeKind.__members__:
            return ChangeKind[node.attr]
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        try:
            return ChangeKind(node.value)
        except ValueError:
            return None
    return None


def _is_change_call(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name == "Change"


@cache
def recorded_kinds() -> frozenset[ChangeKind]:
    """The change kinds some module of the package records (``Change(kind, ...)``)."""
    found: set[ChangeKind] = set()
    for path in _PACKAGE.rglob("*.py"):
        if _SKIP & set(path.relative_to(_PACKAGE).parts):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _is_change_call(node) and node.args:
                kind = _kind_of(node.args[0])
                if kind is not None:
                    found.add(kind)
    return frozenset(found)


@cache
def sent_event_types() -> tuple[str, ...]:
    """The event types that are sent today, in the order of ``events.EVENT_TYPES``. Where the
    source cannot be read (an installation without ``.py`` files), every type."""
    try:
        kinds = recorded_kinds()
    except OSError:
        return events.EVENT_TYPES
    sent = {events.event_type_of(kind) for kind in kinds} - {None}
    return tuple(t for t in events.EVENT_TYPES if t in sent)
