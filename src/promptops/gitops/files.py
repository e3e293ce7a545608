"""Prompt files: one YAML file per prompt (``prompts/<slug>.yaml`` by default), holding the
prompt's slug, name, description and type and the content of one version (the contract's
:class:`promptops.contract.gitops.PromptFileIn`; a JSON Schema of it is
``contract/schemas/prompt-file.json``). An agent's file is the same with ``type: agent`` and
the version's workflow under ``definition``
(:class:`promptops.contract.gitops.AgentFileIn`, ``contract/schemas/agent-file.json``).

Writing is canonical: keys in a fixed order (:data:`FILE_FIELDS`), fields with no value left
out, multi-line strings as literal block scalars (``|``), so a file written from a version,
pushed and pulled again is byte-identical. Reading keeps line numbers: an error names the
file, the line and the field (:class:`PromptFileError`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from promptops.contract.agents import AgentDefinition, file_definition
from promptops.contract.content import stored_content
from promptops.contract.gitops import (
    FILE_FIELDS,
    AgentFileIn,
    PromptFileIn,
    content_hash,
    without_git,
)
from promptops.contract.validation import parse
from promptops.errors import InvalidInputError

__all__ = [
    "FILE_FIELDS",
    "MAX_FILE_BYTES",
    "PromptFile",
    "PromptFileError",
    "default_path",
    "file_data",
    "parse_prompt_file",
    "prompt_file_text",
]

MAX_FILE_BYTES = 1024 * 1024


class PromptFileError(InvalidInputError):
    """A prompt file that cannot be read or breaks a rule of the contract. ``path`` is the
    file, ``line`` (1-based; None when the file is not YAML at all) and ``field`` (dotted,
    e.g. ``messages.2.content``) say where."""

    def __init__(self, path: str, problem: str, *, line: int | None, field: str | None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {problem}", field=field)
        self.path = path
        self.line = line
        self.problem = problem


def default_path(slug: str) -> str:
    """Where a prompt's file lives in a repository by default."""
    return f"prompts/{slug}.yaml"


# ---- writing ------------------------------------------------------------------------------


def file_data(prompt: Mapping[str, Any], version: Mapping[str, Any]) -> dict[str, Any]:
    """The file's fields, in file order, from the API's JSON of a prompt
    (``GET /v1/prompts/{slug}``) and one of its versions (``.../versions/{n}``); an agent's
    version holds its workflow in ``definition`` (what ``GET /v1/sync/files`` gives, or a
    parsed agent file's content)."""
    if (prompt.get("type") or version.get("type")) == "agent":
        definition = AgentDefinition.model_validate(version.get("definition") or {})
        head = {k: prompt.get(k) for k in ("slug", "name", "description")}
        agent = {**head, "type": "agent", "definition": file_definition(definition)}
        return {k: v for k, v in agent.items() if v not in (None, [], {})}
    values: dict[str, Any] = {
        "slug": prompt["slug"],
        "name": prompt["name"],
        "description": prompt.get("description"),
        "type": prompt.get("type") or version.get("type") or "chat",
        **{k: version.get(k) for k in FILE_FIELDS[5:]},
    }
    values["metadata"] = without_git(values["metadata"])
    if values["type"] == "text":
        values["messages"] = None
    else:
        values["text"] = None
    # Nothing, an empty list or an empty object: left out (the same content either way).
    return {k: v for k, v in values.items() if v not in (None, [], {})}


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings as ``|`` scalars, no aliases (a repeated object is
    written twice), indentation of sequences inside mappings (``- `` under its key)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def prompt_file_text(prompt: Mapping[str, Any], version: Mapping[str, Any]) -> str:
    """The file of ``prompt`` at ``version`` (both as the API returns them), canonical:
    the same version always gives the same bytes."""
    text: str = yaml.dump(
        file_data(prompt, version),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=2**31 - 1,  # no folding of long lines
    )
    return text


# ---- reading ------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """PyYAML's SafeLoader to JSON values: no aliases (a few nested ones make a small file
    expand to gigabytes), dates stay strings."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a prompt file", mark
            )
        return super().compose_node(parent, index)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True, slots=True)
class PromptFile:
    """A parsed prompt file: where it is, the prompt's fields, the version content (a
    ``VersionCreate`` body; an agent's: ``{"definition": ...}``) and that content's hash."""

    path: str
    slug: str
    name: str
    description: str | None
    type: str
    content: dict[str, Any]
    hash: str


def _line_of(root: yaml.Node | None, field: str | None) -> int:
    """The line (1-based) of ``field`` (``messages.2.content``) in the node tree: the
    deepest node of the path that the file has."""
    node = root
    if node is None:
        return 1
    line = node.start_mark.line + 1
    for part in (field or "").split(".") if field else ():
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.value == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            child = node.value[int(part)]
        if child is None:
            break
        node = child
        line = node.start_mark.line + 1
    return line


def parse_prompt_file(path: str, text: str, *, expected_slug: str | None = None) -> PromptFile:
    """The prompt file ``text`` (read from ``path``), checked by the contract.

    Raises :class:`PromptFileError` naming the file, the line and the field."""
    if len(text.encode("utf-8")) > MAX_FILE_BYTES:
        raise PromptFileError(
            path, f"file is larger than {MAX_FILE_BYTES} bytes", line=None, field=None
        )
    text = text.removeprefix("\ufeff")
    try:
        loader = _Loader(text)
        try:
            root = loader.get_single_node()
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = f"invalid YAML: {exc.problem or exc.context}"
        line = mark.line + 1 if mark is not None else None
        raise PromptFileError(path, problem, line=line, field=None) from None
    except yaml.YAMLError as exc:
        raise PromptFileError(path, f"invalid YAML: {exc}", line=None, field=None) from None
    if not isinstance(data, dict):
        raise PromptFileError(
            path, "expected a mapping of the prompt's fields at the top level", line=1, field=None
        )
    try:  # what YAML has and JSON has not (!!binary, non-string keys) cannot be sent
        json.dumps(data)
        bad = next((k for k in data if not isinstance(k, str)), None)
        if bad is not None:
            raise TypeError(f"key {bad!r} is not a string")
    except (TypeError, ValueError) as exc:
        raise PromptFileError(path, f"not JSON data: {exc}", line=1, field=None) from None
    model: type[PromptFileIn | AgentFileIn] = (
        AgentFileIn if data.get("type") == "agent" else PromptFileIn
    )
    try:
        parsed = parse(model, data)
    except InvalidInputError as exc:
        line = _line_of(root, exc.field)
        raise PromptFileError(path, exc.message, line=line, field=exc.field) from None
    if expected_slug is not None and parsed.slug != expected_slug:
        raise PromptFileError(
            path,
            f"slug: {parsed.slug!r} differs from the file's name (expected {expected_slug!r})",
            line=_line_of(root, "slug"),
            field="slug",
        )
    content = parsed.content()
    stored = parsed.stored() if isinstance(parsed, AgentFileIn) else stored_content(parsed)
    return PromptFile(
        path=path,
        slug=parsed.slug,
        name=parsed.name,
        description=parsed.description,
        type=parsed.prompt_type,
        content=content,
        hash=content_hash(stored),
    )
