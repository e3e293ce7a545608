"""What the client commands print: the API's JSON with ``--json``, else tables or text.

A handler returns the API's data (printed as a table when the command has columns, else as
JSON) or a :class:`Shown`, data plus the human text to print without ``--json``. Colour is for
terminals only: stdout a tty and ``NO_COLOR`` unset or empty (https://no-color.org).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, TextIO

__all__ = ["COLUMNS", "Shown", "cell", "colour_diff", "emit", "table", "use_colour"]


@dataclass(frozen=True)
class Shown:
    data: Any  # printed with --json: the API's JSON
    text: str  # printed otherwise
    status: int = 0  # the command's exit status (e.g. 1: `sync status --check` found a change)


COLUMNS = {
    "projects_list": ["id", "name", "created_at"],
    "keys_list": [
        "prefix",
        "environment",
        "role",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    ],
    "prompts_list": ["slug", "name", "latest_version", "deployments"],
    "versions_list": ["version", "model", "temperature", "commit_message", "author", "created_at"],
    "history": ["created_at", "action", "version", "previous_version", "actor"],
}


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={'-' if v is None else v}" for k, v in value.items())
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table(items: Iterable[dict[str, Any]], columns: Sequence[str]) -> str:
    rows = [[cell(item.get(c)) for c in columns] for item in items]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    lines = ["  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def emit(name: str, result: Any, as_json: bool) -> None:
    data = result.data if isinstance(result, Shown) else result
    if as_json:
        print(json.dumps(data, indent=2, ensure_ascii=False))
    elif isinstance(result, Shown):
        print(result.text)
    elif name in COLUMNS and isinstance(data, list):
        print(table(data, COLUMNS[name]))
    else:
        print(json.dumps(data, indent=2, ensure_ascii=False))


def use_colour(stream: TextIO) -> bool:
    """Colour only on a terminal, and never when ``NO_COLOR`` is set to something."""
    if os.environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


_RESET = "\033[0m"
_STYLES = {"---": "\033[1m", "+++": "\033[1m", "@@": "\033[36m", "-": "\033[31m", "+": "\033[32m"}


def colour_diff(lines: Iterable[str], on: bool) -> list[str]:
    """Unified-diff lines, removals red and additions green when ``on``."""
    if not on:
        return list(lines)
    out = []
    for line in lines:
        style = next((s for p, s in _STYLES.items() if line.startswith(p)), None)
        out.append(f"{style}{line}{_RESET}" if style else line)
    return out
