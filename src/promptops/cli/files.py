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


def _parse(path: Path, text: str) -> Any:
    if path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise CliError(f"{path}: reading YAML needs PyYAML (pip install pyyaml)") from None
        try:
            return yaml.safe_load(text)
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
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise CliError(f"{path}: not UTF-8 text") from None
    data = _parse(path, text)
    if not isinstance(data, dict):
        raise CliError(f"{path}: expected an object with the version's fields at the top level")
    unknown = sorted(str(k) for k in set(data) - set(VERSION_FIELDS))
    if unknown:
        raise CliError(f"{path}: unknown field(s) {', '.join(unknown)}")
    _check(path, data)
    return data
