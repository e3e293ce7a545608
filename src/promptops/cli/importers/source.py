"""What an importer reads from a peer, in PromptOps' terms, before anything is written.

A reader (``langfuse.py``, ``promptlayer.py``) turns each of the peer's prompts into a
:class:`SourcePrompt`: its versions in order, each either a version create body of the
contract (``POST /v1/prompts/{slug}/versions``) or the reasons it cannot be one, and the
peer's labels. :mod:`promptops.cli.importers.apply` writes them. Plain dicts throughout:
the CLI runs on the SDK-only install, and the server checks every body with the contract.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "ROLES",
    "SourcePrompt",
    "SourceVersion",
    "Unmappable",
    "as_object",
    "environment_for",
    "model_settings",
    "slug_for",
]

ROLES = ("system", "developer", "user", "assistant", "tool")

# The peer's label -> the PromptOps environment it becomes. Other labels are kept in the
# version's metadata (``imported.labels``).
_ENVIRONMENTS = {
    "production": "production",
    "prod": "production",
    "staging": "staging",
    "stage": "staging",
    "dev": "dev",
    "development": "dev",
}

# Model settings both peers keep beside the model name, mapped to the contract's fields.
_TOP_LEVEL = ("temperature", "max_tokens")
_PARAMS = ("top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "reasoning_effort")


def as_object(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one (a peer's optional field)."""
    return value if isinstance(value, dict) else {}


def _tool(item: Any) -> Any:
    """OpenAI's tool shape; a bare ``{"name", "description", "parameters"}`` is wrapped."""
    if isinstance(item, dict) and "type" not in item and isinstance(item.get("name"), str):
        return {"type": "function", "function": item}
    return item


class Unmappable(ValueError):
    """A piece of a peer's version that has no PromptOps equivalent (the message says which)."""


@dataclass
class SourceVersion:
    number: int
    body: dict[str, Any] | None  # the create body; None when it cannot be made
    labels: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # why body is None
    notes: list[str] = field(default_factory=list)  # kept in metadata, not mapped to a field


@dataclass
class SourcePrompt:
    name: str
    type: str  # chat | text
    versions: list[SourceVersion]
    description: str | None = None
    problems: list[str] = field(default_factory=list)  # the whole prompt could not be read


def environment_for(label: str, *, latest_is_dev: bool) -> str | None:
    """The environment a label moves, or None (kept in metadata). ``latest`` (Langfuse's
    newest version) is dev when the prompt has no explicit dev label."""
    if label == "latest":
        return "dev" if latest_is_dev else None
    return _ENVIRONMENTS.get(label.lower())


def slug_for(name: str, taken: set[str]) -> str:
    """A slug for the peer's prompt name (lowercase, ``-`` for the rest, at most 100),
    made unique among ``taken`` with ``-2``, ``-3``..."""
    base = re.sub(r"[^a-z0-9_-]+", "-", name.lower()).strip("-_")[:100].strip("-_") or "prompt"
    slug, n = base, 1
    while slug in taken:
        n += 1
        suffix = f"-{n}"
        slug = base[: 100 - len(suffix)].rstrip("-_") + suffix
    taken.add(slug)
    return slug


def model_settings(settings: dict[str, Any], body: dict[str, Any], notes: list[str]) -> dict:
    """Move model settings the contract has fields for from ``settings`` into ``body``;
    return the rest (kept in metadata, named in ``notes``)."""
    rest = dict(settings)
    for key in _TOP_LEVEL:
        if key in rest and rest[key] is not None:
            body[key] = rest.pop(key)
    if "max_completion_tokens" in rest and "max_tokens" not in body:
        body["max_tokens"] = rest.pop("max_completion_tokens")
    params = {key: rest.pop(key) for key in _PARAMS if rest.get(key) is not None}
    if isinstance(params.get("stop"), str):
        params["stop"] = [params["stop"]]
    if params:
        body["params"] = params
    for key in ("tools", "tool_choice", "response_format"):
        if rest.get(key) is not None:
            body[key] = rest.pop(key)
    if "tools" in body:
        body["tools"] = [_tool(item) for item in body["tools"]]
    if isinstance(body.get("tool_choice"), dict):
        # OpenAI's {"type": "function", "function": {"name": ...}} -> the name.
        function = body["tool_choice"].get("function")
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            body["tool_choice"] = function["name"]
        else:
            raise Unmappable(f"tool_choice {body['tool_choice']!r} names no function")
    for key in sorted(rest):
        notes.append(f"setting {key!r} kept in metadata (no PromptOps field)")
    return rest
