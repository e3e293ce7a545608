"""The editor's form, both ways: a version's content as form fields, and the fields a
person typed as the create body the contract validates.

This module only decodes: text boxes become strings, numbers and JSON values, blank boxes
are left out. Every rule about what a version may hold is the contract's
(:func:`promptops.contract.validation.parse` of ``VersionCreate``); a box whose text is not
JSON at all is the one error found here, named by the box.

Repeated rows are indexed fields: ``messages.<i>.kind|role|content|name|tool_call_id``
(``kind`` is ``message`` or ``placeholder``) and ``inputs.<i>.name|type|required|
description``, so a contract error such as ``messages.2.content`` names the box itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from promptops.db.models import PromptVersion
from promptops.errors import InvalidInputError

__all__ = [
    "PARAMS",
    "Draft",
    "FieldError",
    "field_error",
]

PARAMS = ("top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort")
SCALARS = ("text", "model", "temperature", "max_tokens", "tool_choice", "commit_message")
JSON_BOXES = ("tools", "response_format", "metadata")
MESSAGE_KEYS = ("kind", "role", "content", "name", "tool_call_id")
INPUT_KEYS = ("name", "type", "required", "description")
CONTAINERS = ("messages", "inputs", "params")
_ROW = re.compile(r"^(messages|inputs)\.(\d{1,4})\.([a-z_]+)$")
MAX_ROWS = 600


@dataclass(frozen=True)
class FieldError:
    """The contract's first error, and the form box it belongs to (``target``: the
    field itself, the nearest enclosing box, or ``form``)."""

    message: str
    field: str | None
    target: str

    @property
    def text(self) -> str:
        """The message as shown beside its box (without the box's own name in front)."""
        if self.field and self.target == self.field:
            return self.message.removeprefix(f"{self.field}: ")
        return self.message


def field_error(exc: InvalidInputError, known: Iterable[str]) -> FieldError:
    names = set(known)
    target = "form"
    if exc.field:
        parts = exc.field.split(".")
        for end in range(len(parts), 0, -1):
            if ".".join(parts[:end]) in names:
                target = ".".join(parts[:end])
                break
    return FieldError(exc.message, exc.field, target)


def _lf(value: str) -> str:
    return value.replace("\r\n", "\n")


def _number(value: str) -> Any:
    """A number box: its JSON value (``0.3``, ``200``), else the text (the contract then
    says the field wants a number)."""
    try:
        return json.loads(value)
    except (ValueError, RecursionError):
        return value


def _json(name: str, value: str) -> Any:
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise InvalidInputError(
            f"{name}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})",
            field=name,
        ) from None
    except RecursionError:
        raise InvalidInputError(f"{name}: JSON nested too deeply", field=name) from None


@dataclass
class Draft:
    """What the editor holds: rows as typed and the other boxes' texts."""

    type: str  # chat | text
    messages: list[dict[str, str]] = field(default_factory=list)
    inputs: list[dict[str, str]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)

    # ---- from a version, or from a form ---------------------------------------------------

    @classmethod
    def empty(cls, prompt_type: str) -> Draft:
        messages = [] if prompt_type == "text" else [_message("system"), _message("user")]
        return cls(prompt_type, messages, [], {"model": "gpt-4o-mini", "temperature": "1.0"})

    @classmethod
    def of_version(cls, prompt_type: str, version: PromptVersion) -> Draft:
        messages = [
            {"kind": "placeholder", "role": "", "content": "", "name": m["name"]}
            if m.get("type") == "placeholder"
            else {
                **_message(m["role"], m.get("content", "")),
                "name": m.get("name", ""),
                "tool_call_id": m.get("tool_call_id", ""),
            }
            for m in version.messages or ()
        ]
        inputs = [
            {
                "name": i["name"],
                "type": i.get("type", "string"),
                "required": "on" if i.get("required", True) else "",
                "description": i.get("description", ""),
            }
            for i in version.inputs or ()
        ]

        def pretty(value: Any) -> str:
            return "" if not value else json.dumps(value, indent=2, ensure_ascii=False)

        values = {
            "text": version.text or "",
            "model": version.model,
            "temperature": str(version.temperature),
            "max_tokens": "" if version.max_tokens is None else str(version.max_tokens),
            "tool_choice": version.tool_choice or "",
            "tools": pretty(version.tools),
            "response_format": pretty(version.response_format),
            "metadata": pretty(version.meta),
        }
        for name, value in (version.params or {}).items():
            values[f"params.{name}"] = value if isinstance(value, str) else json.dumps(value)
        return cls(prompt_type, messages, inputs, values)

    @classmethod
    def of_fields(cls, prompt_type: str, fields: Mapping[str, str]) -> Draft:
        """From the form's fields (a POSTed form, or the editor script's copy of it)."""
        rows: dict[str, dict[int, dict[str, str]]] = {"messages": {}, "inputs": {}}
        values: dict[str, str] = {}
        for name, value in fields.items():
            match = _ROW.match(name)
            if match:
                group, index, key = match.group(1), int(match.group(2)), match.group(3)
                allowed = MESSAGE_KEYS if group == "messages" else INPUT_KEYS
                if key in allowed and (index in rows[group] or len(rows[group]) < MAX_ROWS):
                    rows[group].setdefault(index, {})[key] = _lf(value)
            elif name in SCALARS or name in JSON_BOXES or name.removeprefix("params.") in PARAMS:
                values[name] = _lf(value)
        messages = [
            {"kind": "message", "role": "user", "content": "", **row}
            for _, row in sorted(rows["messages"].items())
        ]
        inputs = [{"type": "string", **row} for _, row in sorted(rows["inputs"].items())]
        if prompt_type == "text":
            messages = []
        return cls(prompt_type, messages, inputs, values)

    # ---- the create body ------------------------------------------------------------------

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def body(self) -> dict[str, Any]:
        """The create body (``VersionCreate`` input), or InvalidInputError for a JSON box
        whose text is not JSON."""
        out: dict[str, Any] = {"model": self.get("model").strip()}
        if self.type == "text":
            out["text"] = self.get("text")
        else:
            out["messages"] = [_message_body(m) for m in self.messages]
            if not out["messages"]:
                del out["messages"]
            if self.get("tool_choice").strip():
                out["tool_choice"] = self.get("tool_choice").strip()
        for name in ("temperature", "max_tokens"):
            if self.get(name).strip():
                out[name] = _number(self.get(name).strip())
        params = {}
        for name in PARAMS:
            raw = self.get(f"params.{name}").strip()
            if raw:
                params[name] = raw if name == "reasoning_effort" else _number(raw)
        if params:
            out["params"] = params
        inputs = [_input_body(i) for i in self.inputs if i.get("name") or i.get("description")]
        if inputs:
            out["inputs"] = inputs
        boxes = JSON_BOXES if self.type == "chat" else ("metadata",)
        for name in boxes:
            if self.get(name).strip():
                out[name] = _json(name, self.get(name))
        if self.get("commit_message").strip():
            out["commit_message"] = self.get("commit_message").strip()
        return out

    def field_names(self) -> set[str]:
        """Every box of the form (what an error can be shown beside)."""
        names = {*CONTAINERS, *SCALARS, *JSON_BOXES, *(f"params.{p}" for p in PARAMS)}
        names.update(f"messages.{i}.{k}" for i in range(len(self.messages)) for k in MESSAGE_KEYS)
        names.update(f"inputs.{i}.{k}" for i in range(len(self.inputs)) for k in INPUT_KEYS)
        return names

    # ---- the buttons that change rows (without JavaScript) ----------------------------------

    def apply(self, intent: str) -> bool:
        """Add, remove or move a row as the button ``intent`` asks; False: not such a button."""
        if intent in ("add-message", "add-placeholder"):
            kind = intent.removeprefix("add-")
            new = _message("user") if kind == "message" else _placeholder()
            self.messages.append(new)
            return True
        if intent == "add-input":
            self.inputs.append({"name": "", "type": "string", "required": "on"})
            return True
        action, _, where = intent.partition(":")
        group, _, raw = where.partition(".")
        if action not in ("remove", "up", "down") or group not in ("messages", "inputs"):
            return False
        rows = self.messages if group == "messages" else self.inputs
        if not raw.isdigit() or not 0 <= int(raw) < len(rows):
            return False
        i = int(raw)
        if action == "remove":
            del rows[i]
        elif action == "up" and i > 0:
            rows[i - 1], rows[i] = rows[i], rows[i - 1]
        elif action == "down" and i + 1 < len(rows):
            rows[i + 1], rows[i] = rows[i], rows[i + 1]
        return True


def _message(role: str, content: str = "") -> dict[str, str]:
    return {"kind": "message", "role": role, "content": content, "name": "", "tool_call_id": ""}


def _placeholder() -> dict[str, str]:
    return {"kind": "placeholder", "role": "", "content": "", "name": ""}


def _message_body(row: dict[str, str]) -> dict[str, Any]:
    if row.get("kind") == "placeholder":
        return {"type": "placeholder", "name": row.get("name", "").strip()}
    out: dict[str, Any] = {"role": row.get("role", ""), "content": row.get("content", "")}
    for key in ("name", "tool_call_id"):
        if row.get(key, "").strip():
            out[key] = row[key].strip()
    return out


def _input_body(row: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": row.get("name", "").strip(),
        "type": row.get("type", "string"),
        "required": bool(row.get("required")),
    }
    if row.get("description", "").strip():
        out["description"] = row["description"].strip()
    return out
