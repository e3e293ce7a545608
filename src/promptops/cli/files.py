"""Prompt version files for `promptops versions create --file` (JSON, or YAML with PyYAML).

A file holds one version: ``user_template`` and ``model`` are required; ``system_prompt``,
``temperature``, ``max_tokens``, ``metadata``, ``commit_message`` and ``author`` optional.
Problems are reported with the file name and the field before anything is sent.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from promptops.cli.http import CliError
from promptops.errors import TemplateSyntaxError
from promptops.templating import Template

__all__ = ["VERSION_FIELDS", "load_version_file"]

VERSION_FIELDS: dict[str, type | tuple[type, ...]] = {
    "system_prompt": str,
    "user_template": str,
    "model": str,
    "temperature": (int, float),
    "max_tokens": int,
    "metadata": dict,
    "commit_message": str,
    "author": str,
}
_REQUIRED = ("user_template", "model")
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


def load_version_file(path: Path) -> dict[str, Any]:
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
    unknown = sorted(set(data) - set(VERSION_FIELDS))
    if unknown:
        raise CliError(f"{path}: unknown field(s) {', '.join(unknown)}")
    for name in _REQUIRED:
        if name not in data:
            raise CliError(f"{path}: missing required field {name!r}")
    for name, value in data.items():
        kind = VERSION_FIELDS[name]
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            raise CliError(f"{path}: field {name!r} has the wrong type ({type(value).__name__})")
    for name in ("system_prompt", "user_template"):
        if isinstance(data.get(name), str):
            try:
                Template(data[name])
            except TemplateSyntaxError as exc:
                raise CliError(f"{path}: {name}: {exc.message}") from None
    return data
