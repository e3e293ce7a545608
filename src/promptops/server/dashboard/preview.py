"""The editor's preview: each message (or the text) rendered by the template engine with
sample values, placeholders shown as marked slots, snippets resolved with links to them.

A sample value is JSON when it reads as JSON (``true``, ``[1, 2]``, ``{"a": 1}``, ``3``), else
the text as typed; a variable declared as a string always takes the text. A variable without
a sample shows as ``{{name}}``. A placeholder shows as a marked slot, with its sample messages
when its sample is a JSON list of ``{"role", "content"}`` objects. Nothing here raises for
what a person typed: a template that does not parse or does not render gives a note in place
of its preview.

Snippets (``{{> slug}}``, ``{{> slug@3}}``) are looked up through domain functions: the
snippet's version active in ``dev`` (or the pinned one), its text rendered in place; one
that cannot be found renders as a marked slot.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from promptops.db.session import Session
from promptops.domain import deployments, prompts, versions
from promptops.domain.errors import NotFoundError
from promptops.errors import TemplateError
from promptops.server.dashboard.draft import Draft
from promptops.templating import Template, compile_template

__all__ = ["Preview", "Rendered", "SnippetRef", "build_preview", "sample_value"]

MAX_SNIPPETS = 50


@dataclass(frozen=True)
class Rendered:
    kind: str  # message | placeholder | text
    role: str = ""
    name: str = ""
    text: str | None = None
    note: str | None = None  # why there is no preview of this one
    sample: list[dict[str, str]] | None = None  # a placeholder's sample messages


@dataclass(frozen=True)
class SnippetRef:
    key: str  # slug or slug@3, as written
    slug: str
    url: str
    version: int | None  # the version rendered, None when not found
    note: str  # "active in dev", "pinned", or why it is not shown


@dataclass
class Preview:
    variables: list[str] = field(default_factory=list)
    snippet_variables: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)
    items: list[Rendered] = field(default_factory=list)
    snippets: list[SnippetRef] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "variables": self.variables,
            "snippet_variables": self.snippet_variables,
            "placeholders": self.placeholders,
            "preview": [asdict(item) for item in self.items],
            "snippets": [asdict(ref) for ref in self.snippets],
        }


def sample_value(raw: str, declared: str | None) -> Any:
    if declared == "string":
        return raw
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        return raw


def sample_messages(raw: str) -> list[dict[str, str]] | None:
    """A placeholder's sample: a JSON list of ``{"role", "content"}`` objects, or None."""
    value = sample_value(raw, None) if raw else None
    if not isinstance(value, list):
        return None
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("content", ""), str):
            return None
        out.append({"role": str(item.get("role", "")), "content": item.get("content", "")})
    return out


def _compiled(source: str) -> Template | None:
    try:
        return compile_template(source)
    except TemplateError:
        return None


def _find_snippet(
    session: Session, project_id: str, slug: str, pinned: int | None
) -> tuple[str | None, int | None, str]:
    """(text, version, note) of a snippet, or (None, None, why not)."""
    try:
        if pinned is None:
            found = deployments.active_version(session, project_id, slug, "dev")
            if found is None:
                return None, None, "not found (no such prompt, or nothing active in dev)"
            version, note = found[1], "active in dev"
        else:
            prompt = prompts.get_prompt(session, project_id, slug, kind="prompt")
            version, note = versions.get_version(session, prompt, pinned), "pinned"
    except NotFoundError as exc:
        return None, None, f"not found ({exc.message})"
    if version.text is None:
        return None, version.version, "a chat prompt cannot be included (snippets are text)"
    return version.text, version.version, note


def _snippets(
    session: Session, project_id: str, templates: list[Template]
) -> tuple[dict[str, Template], list[SnippetRef]]:
    """Every snippet the templates include, nested ones too (bounded)."""
    partials: dict[str, Template] = {}
    refs: list[SnippetRef] = []
    todo = [p for t in templates for p in t.partials]
    while todo and len(partials) < MAX_SNIPPETS:
        tag = todo.pop(0)
        if tag.key in partials:
            continue
        text, number, note = _find_snippet(session, project_id, tag.slug, tag.version)
        included = _compiled(text) if text is not None else None
        if text is not None and included is None:
            note = "its text does not parse"
        if included is None:
            included = _compiled(f"[snippet {tag.key}: {note}]") or Template("[snippet]")
            number = None if text is None else number
        partials[tag.key] = included
        url = f"/p/{project_id}/prompts/{tag.slug}"
        if number is not None:
            url += f"/versions/{number}"
        refs.append(SnippetRef(tag.key, tag.slug, url, number, note))
        todo.extend(included.partials)
    return partials, refs


def build_preview(
    session: Session, project_id: str, draft: Draft, samples: dict[str, str]
) -> Preview:
    sources: list[tuple[dict[str, str], str | None]] = []
    if draft.type == "text":
        sources.append(({"kind": "text"}, draft.get("text")))
    else:
        for row in draft.messages:
            placeholder = row.get("kind") == "placeholder"
            sources.append((row, None if placeholder else row.get("content", "")))
    compiled = [None if s is None else _compiled(s) for _, s in sources]
    parsed = [t for t in compiled if t is not None]
    partials, refs = _snippets(session, project_id, parsed)
    declared = {i["name"].strip(): i.get("type") for i in draft.inputs if i.get("name")}
    names: dict[str, None] = {}
    for template in parsed:
        names.update(dict.fromkeys(template.variables))
    names.update(dict.fromkeys(n for n in declared if n.isidentifier()))
    extra: dict[str, None] = {}
    for template in partials.values():
        extra.update(dict.fromkeys(v for v in template.variables if v not in names))
    values = {
        name: sample_value(samples[name], declared.get(name))
        if samples.get(name)
        else f"{{{{{name}}}}}"
        for name in (*names, *extra)
    }
    items: list[Rendered] = []
    for (row, _), one in zip(sources, compiled, strict=True):
        kind = row.get("kind", "message")
        if kind == "placeholder":
            name = row.get("name", "").strip()
            sample = sample_messages(samples.get(name, ""))
            note = "filled at render time with a list of messages"
            items.append(Rendered("placeholder", name=name, note=note, sample=sample))
            continue
        role = row.get("role", "")
        if one is None:
            note = "fix this template's error to see its preview"
            items.append(Rendered(kind, role, row.get("name", ""), note=note))
            continue
        try:
            text = one.render(values, partials, strict=False)
            items.append(Rendered(kind, role, row.get("name", ""), text=text))
        except TemplateError as exc:
            note = f"no preview with these sample values: {exc.message}"
            items.append(Rendered(kind, role, row.get("name", ""), note=note))
    slots = [i.name for i in items if i.kind == "placeholder" and i.name.isidentifier()]
    slots = [n for n in dict.fromkeys(slots) if n not in names and n not in extra]
    return Preview(list(names), list(extra), slots, items, refs)
