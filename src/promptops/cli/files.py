"""Prompt version files for `promptops versions create --file` (JSON, or YAML with PyYAML).

A file holds one version: the body of ``POST /v1/prompts/{slug}/versions``
(:class:`promptops.contract.content.VersionCreate`): ``messages`` (or ``text``, or the older
``system_prompt`` + ``user_template``) and ``model``; ``temperature``, ``max_tokens``,
``params``, ``inputs``, ``tools``, ``tool_choice``, ``response_format``, ``metadata``,
``commit_message`` and ``author`` optional. With the contract installed (``promptops[server]``)
a file is checked by the same model as the API's before anything is sent, and a problem is
reported with the file name and the field; without it the server's answer (a 422 naming the
field) is what the user sees.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptops.cli.http import CliError

__all__ = ["VERSION_FIELDS", "load_version_file"]

# The fields of VersionCreate, in the order a file is written (a test holds them equal).
VERSION_FIELDS: tuple[str, ...] = (
    "system_prompt",
    "user_template",
    "messages",
    "text",
    "model",
    "temperature",
    "max_tokens",
    "params",
    "inputs",
    "tools",
    "tool_choice",
    "response_format",
    "metadata",
    "commit_message",
    "author",
)
_MAX_FILE = 1024 * 1024


def _yaml_loader(yaml: Any) -> Any:
    """PyYAML's SafeLoader, to JSON values only: no aliases (``*name`` repeats a node, and
    a few nested ones make a small file expand to gigabytes: "billion laughs"), and dates
    stay strings (JSON has no dates; a date object cannot be sent)."""

    class Loader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, "aliases (*name) are not allowed in a version file", mark
                )
            return super().compose_node(parent, index)

    Loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    return Loader


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise CliError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
        try:
            return yaml.load(text, Loader=_yaml_loader(yaml))
        except yaml.YAMLError as exc:
            raise CliError(f"{path}: invalid YAML: {exc}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(
            f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
        ) from None


def _check(path: Path, data: dict[str, Any]) -> None:
    """The contract's verdict on the file (nothing when the contract is not installed)."""
    try:
        from promptops.contract.content import VersionCreate
        from promptops.contract.validation import parse
        from promptops.errors import InvalidInputError
    except ImportError:  # the SDK-only install: the server checks the body
        return
    try:
        parse(VersionCreate, data)
    except InvalidInputError as exc:
        raise CliError(f"{path}: {exc.message}") from None


def load_version_file(path: Path) -> dict[str, Any]:
    """The version body a file holds, as written (checked, not rewritten)."""
    try:
        if path.stat().st_size > _MAX_FILE:
            raise CliError(f"{path}: file is larger than {_MAX_FILE} bytes")
        text = path.read_text(encoding="utf-8-sig")  # an editor's byte order mark is no text
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    data = _parse(path, text)
    if not isinstance(data, dict):
        raise CliError(f"{path}: expected an object with the version's fields at the top level")
    try:  # what YAML has and JSON has not (explicit !!timestamp, !!binary) cannot be sent
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise CliError(f"{path}: not JSON data: {exc}") from None
    unknown = sorted(str(k) for k in set(data) - set(VERSION_FIELDS))
    if unknown:
        raise CliError(f"{path}: unknown field(s) {', '.join(unknown)}")
    _check(path, data)
    return data
