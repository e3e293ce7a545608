"""Read every prompt template of a PromptLayer workspace through its public REST API.

``GET /prompt-templates`` (paginated: ``page`` from 1, ``per_page``, ``has_next``) lists
the templates with their latest version number; ``POST /prompt-templates/{name}`` with
``{"version": N}`` returns one version (404: that number was deleted); ``GET
/prompt-templates/{name}/labels`` the release labels. ``X-API-KEY`` authenticates.

A template is ``completion`` (content blocks: a text prompt) or ``chat`` (messages whose
content is a list of blocks, placeholder messages, ``tools``/``functions``), written in
``f-string`` (``{name}``) or ``jinja2`` (``{{ name }}``) format; both become PromptOps'
``{{name}}``. Jinja statements and filters, format specs and media blocks have no
equivalent: such a version is reported, not imported. The model and its parameters come
from ``metadata.model``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from promptops.cli.http import CliError
from promptops.cli.importers.source import (
    ROLES,
    SourcePrompt,
    SourceVersion,
    Unmappable,
    as_object,
    model_settings,
)

__all__ = ["PromptLayerReader", "convert_template"]

DEFAULT_URL = "https://api.promptlayer.com"
PAGE_SIZE = 100
_JINJA_VARIABLE = re.compile(r"\{\{-?\s*([A-Za-z_][A-Za-z0-9_.]*)\s*-?\}\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*")


def convert_template(text: str, template_format: str) -> str:
    """A PromptLayer template in PromptOps' (Mustache) syntax, or :class:`Unmappable`."""
    if template_format == "jinja2":
        converted = _JINJA_VARIABLE.sub(lambda m: "{{" + m.group(1) + "}}", text)
        rest = _JINJA_VARIABLE.sub("", text)
        for opener, what in (
            ("{%", "a Jinja statement"),
            ("{#", "a Jinja comment"),
            ("{{", "a Jinja expression"),
        ):
            if opener in rest:
                at = rest.index(opener)
                raise Unmappable(
                    f"{what} ({rest[at : at + 40]!r}) has no PromptOps equivalent;"
                    " only {{ name }} variables convert"
                )
        return converted
    if template_format not in ("f-string", "", None):
        raise Unmappable(f"template format {template_format!r} (known: f-string, jinja2)")
    out: list[str] = []
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise Unmappable(f"the f-string template does not parse: {exc}") from None
    text_run = ""  # literal text since the last field (the parser splits it at braces)
    for literal, name, spec, conversion in pieces:
        text_run += literal
        if "{{" in text_run:
            raise Unmappable("a literal '{{' cannot be written in a PromptOps template")
        out.append(literal)
        if name is None:
            continue
        if spec or conversion:
            raise Unmappable(
                f"{{{name}...}}: format specs and conversions have no PromptOps equivalent"
            )
        if not _NAME.fullmatch(name):
            raise Unmappable(f"the field {{{name}}} is not a plain variable name")
        if text_run.endswith("{"):
            raise Unmappable(
                f"'{{' right before {{{name}}} cannot be written in a PromptOps template"
            )
        out.append("{{" + name + "}}")
        text_run = ""
    return "".join(out)


class PromptLayerReader:
    source = "promptlayer"

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    @classmethod
    def connect(cls, base_url: str, api_key: str) -> PromptLayerReader:
        return cls(
            httpx.Client(base_url=base_url.rstrip("/"), headers={"X-API-KEY": api_key}, timeout=30)
        )

    def _call(self, method: str, path: str, **kw: Any) -> Any:
        try:
            response = self.http.request(method, path, **kw)
        except httpx.HTTPError as exc:
            raise CliError(f"cannot reach PromptLayer at {self.http.base_url}: {exc}") from exc
        if response.status_code in (401, 403):
            raise CliError(
                f"PromptLayer refused the API key (HTTP {response.status_code}): check --api-key"
                " (PROMPTLAYER_API_KEY)"
            )
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise CliError(f"PromptLayer answered {method} {path} with HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise CliError(
                f"PromptLayer answered {method} {path} with something other than JSON"
            ) from None

    def listing(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        page = 1
        while True:
            body = self._call(
                "GET", "/prompt-templates", params={"page": page, "per_page": PAGE_SIZE}
            )
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise CliError("PromptLayer's template list has no 'items' list")
            entries.extend(i for i in items if isinstance(i, dict) and i.get("prompt_name"))
            if not body.get("has_next") or not items:
                return entries
            page += 1

    def read(self, entry: dict[str, Any]) -> SourcePrompt:
        name = str(entry["prompt_name"])
        path = f"/prompt-templates/{quote(name, safe='')}"
        latest: int = entry["version"] if isinstance(entry.get("version"), int) else 1
        raw_labels = self._call("GET", f"{path}/labels") or {}
        labels: dict[int, list[str]] = {}
        for item in raw_labels.get("release_labels") or []:
            if isinstance(item, dict) and isinstance(item.get("prompt_version_number"), int):
                labels.setdefault(item["prompt_version_number"], []).append(
                    str(item.get("release_label"))
                )
        raws = []
        for number in range(1, latest + 1):
            raw = entry if number == latest and entry.get("prompt_template") else None
            raw = raw or self._call("POST", path, json={"version": number})
            if raw is not None:  # a deleted version number
                raws.append((number, raw))
        kind = _kind(raws[-1][1]) if raws else "chat"
        versions = [_version(raw, number, kind, labels.get(number, [])) for number, raw in raws]
        return SourcePrompt(name=name, type=kind, versions=versions)

    def prompts(self) -> Iterator[SourcePrompt]:
        for entry in self.listing():
            yield self.read(entry)


def _kind(raw: dict[str, Any]) -> str:
    template = raw.get("prompt_template") or {}
    return "text" if template.get("type") == "completion" else "chat"


def _version(raw: dict[str, Any], number: int, kind: str, labels: list[str]) -> SourceVersion:
    found = SourceVersion(number=number, body=None, labels=labels)
    template = as_object(raw.get("prompt_template"))
    try:
        if _kind(raw) != kind:
            raise Unmappable(
                f"version {number} is a {_kind(raw)} template, the latest a {kind} one"
            )
        fmt = template.get("template_format") or "f-string"
        if kind == "text":
            body: dict[str, Any] = {
                "text": convert_template(_blocks(template.get("content"), "content"), fmt)
            }
        else:
            body = {
                "messages": [
                    _message(m, i, fmt) for i, m in enumerate(template.get("messages") or [])
                ]
            }
        metadata = as_object(raw.get("metadata"))
        model = as_object(metadata.get("model"))
        settings = dict(model.get("parameters") or {})
        if kind == "chat":
            tools = template.get("tools") or [
                {"type": "function", "function": f} for f in template.get("functions") or []
            ]
            if tools:
                settings["tools"] = tools
            choice = template.get("tool_choice") or template.get("function_call")
            if isinstance(choice, dict) and "function" not in choice and "name" in choice:
                choice = choice["name"]  # the older function_call {"name": ...}
            if choice and tools:
                settings["tool_choice"] = choice
        name = model.get("name")
        body["model"] = name if isinstance(name, str) and name else None
        rest = model_settings(settings, body, found.notes)
        imported: dict[str, Any] = {
            "from": "promptlayer",
            "name": raw.get("prompt_name"),
            "version": number,
        }
        if model.get("provider"):
            imported["provider"] = model["provider"]
        if labels:
            imported["labels"] = labels
        if raw.get("tags"):
            imported["tags"] = raw["tags"]
        if rest:
            imported["parameters"] = rest
        other = {k: v for k, v in metadata.items() if k != "model"}
        if other:
            imported["metadata"] = other
            found.notes.append(f"metadata {', '.join(sorted(other))} kept under imported.metadata")
        for key in ("created_at", "updated_at"):
            if raw.get(key):
                imported[key] = raw[key]
        body["metadata"] = {"imported": imported}
        if isinstance(raw.get("commit_message"), str) and raw["commit_message"]:
            body["commit_message"] = raw["commit_message"][:2000]
        found.body = body
    except Unmappable as exc:
        found.problems.append(str(exc))
    return found


def _blocks(content: Any, where: str) -> str:
    """The text of a list of content blocks (a plain string too)."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise Unmappable(f"{where} is neither text nor a list of content blocks")
    parts = []
    for block in content:
        if not isinstance(block, dict) or block.get("type") != "text":
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            raise Unmappable(f"{where} holds a {kind!r} block (PromptOps templates are text)")
        parts.append(str(block.get("text") or ""))
    return "".join(parts)


def _message(raw: Any, index: int, fmt: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise Unmappable(f"message {index} is not an object")
    role = raw.get("role")
    if role == "placeholder":
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise Unmappable(f"placeholder message {index} has no name")
        return {"type": "placeholder", "name": name}
    if role not in ROLES:
        raise Unmappable(f"message {index} has the role {role!r} (PromptOps: {', '.join(ROLES)})")
    if raw.get("tool_calls") or raw.get("function_call"):
        raise Unmappable(f"message {index} holds tool calls (PromptOps messages hold templates)")
    message: dict[str, Any] = {
        "role": role,
        "content": convert_template(
            _blocks(raw.get("content"), f"message {index}"), raw.get("template_format") or fmt
        ),
    }
    if isinstance(raw.get("name"), str) and raw["name"]:
        message["name"] = raw["name"]
    if role == "tool" and isinstance(raw.get("tool_call_id"), str):
        message["tool_call_id"] = raw["tool_call_id"]
    return message
