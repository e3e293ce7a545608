"""Side-by-side diffs of two versions (every field of their content), and of two records
(an audit event's before and after) written as readable lines.

Lines are matched with :class:`difflib.SequenceMatcher`; a changed line pair is diffed again
word by word so the page can mark exactly what changed (``<del>``/``<ins>``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Any

__all__ = [
    "Row",
    "Section",
    "Segment",
    "messages_text",
    "readable_lines",
    "record_rows",
    "side_by_side",
    "version_sections",
]


@dataclass(frozen=True)
class Segment:
    text: str
    changed: bool = False


@dataclass(frozen=True)
class Row:
    kind: str  # equal | replace | delete | insert
    left_no: int | None
    left: list[Segment]
    right_no: int | None
    right: list[Segment]


@dataclass(frozen=True)
class Section:
    title: str
    rows: list[Row] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return any(row.kind != "equal" for row in self.rows)


_TOKEN = re.compile(r"\d+(?:\.\d+)?|\w+|\s+|[^\w\s]")
# Below this similarity a changed line is marked whole: word-by-word marks would be noise.
_MIN_RATIO = 0.4


def _intraline(a: str, b: str) -> tuple[list[Segment], list[Segment]]:
    """Mark what changed between two lines, word by word (punctuation on its own)."""
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    matcher = SequenceMatcher(None, ta, tb, autojunk=False)
    if matcher.ratio() < _MIN_RATIO:
        return [Segment(a, True)], [Segment(b, True)]
    left: list[Segment] = []
    right: list[Segment] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            left.append(Segment("".join(ta[i1:i2])))
            right.append(Segment("".join(tb[j1:j2])))
            continue
        if i2 > i1:
            left.append(Segment("".join(ta[i1:i2]), True))
        if j2 > j1:
            right.append(Segment("".join(tb[j1:j2]), True))
    return left, right


def side_by_side(a: str, b: str) -> list[Row]:
    """Rows pairing the lines of ``a`` (left) and ``b`` (right)."""
    left, right = a.splitlines(), b.splitlines()
    rows: list[Row] = []
    matcher = SequenceMatcher(None, left, right, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for k in range(i2 - i1):
                line = left[i1 + k]
                rows.append(Row("equal", i1 + k + 1, [Segment(line)], j1 + k + 1, [Segment(line)]))
            continue
        pairs = max(i2 - i1, j2 - j1) if tag == "replace" else 0
        for k in range(pairs):
            i, j = i1 + k, j1 + k
            if i < i2 and j < j2:
                segs_l, segs_r = _intraline(left[i], right[j])
                rows.append(Row("replace", i + 1, segs_l, j + 1, segs_r))
            elif i < i2:
                rows.append(Row("delete", i + 1, [Segment(left[i], True)], None, []))
            else:
                rows.append(Row("insert", None, [], j + 1, [Segment(right[j], True)]))
        if tag == "delete":
            for i in range(i1, i2):
                rows.append(Row("delete", i + 1, [Segment(left[i], True)], None, []))
        elif tag == "insert":
            for j in range(j1, j2):
                rows.append(Row("insert", None, [], j + 1, [Segment(right[j], True)]))
    return rows


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)


def messages_text(messages: list[dict[str, Any]] | None) -> str:
    """A version's messages as lines: a header per message (position, role, name and tool
    call id, or the placeholder), then its content."""
    lines: list[str] = []
    for i, message in enumerate(messages or (), start=1):
        if message.get("type") == "placeholder":
            lines.append(f"── {i} · placeholder {message['name']} ──")
            continue
        extra = "".join(
            f", {key}: {message[key]}" for key in ("name", "tool_call_id") if message.get(key)
        )
        lines.append(f"── {i} · {message['role']}{extra} ──")
        lines += message.get("content", "").splitlines()
    return "\n".join(lines)


def _parameters(version: Any) -> str:
    max_tokens = "-" if version.max_tokens is None else version.max_tokens
    lines = [f"model: {version.model}", f"temperature: {version.temperature}"]
    lines.append(f"max_tokens: {max_tokens}")
    for name, value in sorted((version.params or {}).items()):
        lines.append(f"{name}: {json.dumps(value, ensure_ascii=False)}")
    return "\n".join(lines)


def _inputs(version: Any) -> str:
    lines = []
    for item in version.inputs or ():
        required = "required" if item.get("required", True) else "optional"
        line = f"{item['name']} ({item.get('type', 'string')}, {required})"
        if item.get("description"):
            line += f": {item['description']}"
        lines.append(line)
    return "\n".join(lines)


# (title, text of a version); sections empty in both versions are left out, except these.
_PARTS: list[tuple[str, Any]] = [
    ("Messages", lambda v: messages_text(v.messages)),
    ("Text", lambda v: v.text or ""),
    ("Tools", lambda v: _json_text(v.tools)),
    ("Tool choice", lambda v: v.tool_choice or ""),
    ("Response format", lambda v: _json_text(v.response_format)),
    ("Parameters", _parameters),
    ("Inputs", _inputs),
    ("Metadata", lambda v: _json_text(v.meta or {})),
    ("Commit message", lambda v: v.commit_message or ""),
]
_ALWAYS = ("Parameters", "Metadata", "Commit message")


def version_sections(a: Any | None, b: Any) -> list[Section]:
    """The diff of two versions (``PromptVersion`` rows), one section per field: messages
    (placeholders included) or text, tools, tool choice, response format, parameters
    (model, temperature, max tokens, params), inputs, metadata, commit message. ``a`` None:
    from nothing (every line of ``b`` is added). A field empty in both is left out, except
    the messages of a chat prompt, the text of a text prompt and those always set."""
    if getattr(b, "definition", None) is not None:  # an agent's version: its workflow
        return _workflow_sections(a, b)
    kind_of_b = "Text" if b.text is not None else "Messages"
    sections = []
    for title, text_of in _PARTS:
        left = "" if a is None else text_of(a)
        right = text_of(b)
        if left or right or title in _ALWAYS or title == kind_of_b:
            sections.append(Section(title, side_by_side(left, right)))
    return sections


def _workflow_sections(a: Any | None, b: Any) -> list[Section]:
    """An agent version's diff: its workflow as readable lines, and the commit message."""
    sections = []
    for title, text_of in (
        ("Workflow", lambda v: "\n".join(readable_lines(v.definition))),
        ("Commit message", lambda v: v.commit_message or ""),
    ):
        left = "" if a is None else text_of(a)
        sections.append(Section(title, side_by_side(left, text_of(b))))
    return sections


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(_scalar(v) for v in value if v is not None) or "(none)"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def readable_lines(record: Any, prefix: str = "") -> list[str]:
    """A JSON value as ``name: value`` lines a person reads: nested objects flattened with
    dotted names, lists of plain values joined, nulls left out, keys sorted."""
    if record is None:
        return []
    if not isinstance(record, dict):
        return [f"{prefix}: {_scalar(record)}" if prefix else _scalar(record)]
    lines: list[str] = []
    for key in sorted(record, key=str):
        value = record[key]
        name = f"{prefix}.{key}" if prefix else str(key)
        if value is None:
            continue
        if isinstance(value, dict) and value:
            lines += readable_lines(value, name)
        else:
            lines.append(f"{name}: {_scalar(value)}")
    return lines


def record_rows(before: Any, after: Any) -> list[Row]:
    """Before and after of a change (an audit event), side by side, as readable lines."""
    return side_by_side("\n".join(readable_lines(before)), "\n".join(readable_lines(after)))
