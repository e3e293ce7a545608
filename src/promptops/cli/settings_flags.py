"""`promptops serve` flags made from the server's Settings fields: one list, so every
``PROMPTOPS_<NAME>`` setting has its ``--<name>`` flag with the field's description as help.

Flags become environment variables (:func:`export_flags`) so that worker processes started
by the server see the same settings. Importing the settings needs ``promptops[server]``;
without it `serve` accepts anything and then says what to install.
"""

from __future__ import annotations

import argparse
import json
import os
import types
import typing
from typing import Any

__all__ = [
    "ENV_ONLY",
    "ENV_PREFIX",
    "add_settings_flags",
    "export_flags",
    "flag_name",
    "settings_fields",
]

ENV_PREFIX = "PROMPTOPS_"
# Secrets that must not appear in a process list: environment only.
ENV_ONLY = frozenset({"admin_password"})


def flag_name(field: str) -> str:
    return "--" + field.replace("_", "-")


def settings_fields() -> dict[str, Any] | None:
    """The Settings fields (name -> pydantic FieldInfo), or None without the server."""
    try:
        from promptops.server.config import Settings
    except ImportError:
        return None
    return {k: v for k, v in Settings.model_fields.items() if k not in ENV_ONLY}


def _strip_optional(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _json_list(text: str) -> str:
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, list):
        raise argparse.ArgumentTypeError(f"expected a JSON list such as [5, 300], not {text!r}")
    return json.dumps(value)


def _help(name: str, info: Any) -> str:
    default = info.get_default(call_default_factory=True)
    text = (info.description or "").replace("`", "")
    env = f"env {ENV_PREFIX}{name.upper()}"
    if default is None:
        return f"{text} ({env})"
    shown = json.dumps(default) if isinstance(default, list) else default
    return f"{text} ({env}; default {shown})"


def add_settings_flags(parser: argparse.ArgumentParser) -> None:
    fields = settings_fields()
    if fields is None:  # the SDK-only install: any flag is let through to the command,
        parser.set_defaults(server_missing=True)  # which says what to install
        return
    group = parser.add_argument_group("settings (each also read from its environment variable)")
    for name, info in fields.items():
        kind = _strip_optional(info.annotation)
        kw: dict[str, Any] = {"dest": name, "default": None, "help": _help(name, info)}
        if kind is bool:
            kw["action"] = argparse.BooleanOptionalAction
        elif typing.get_origin(kind) is typing.Literal:
            kw["choices"] = list(typing.get_args(kind))
        elif typing.get_origin(kind) is list:
            kw.update(type=_json_list, metavar="JSON")
        elif kind in (int, float):
            kw.update(type=kind, metavar=kind.__name__.upper())
        else:
            kw["metavar"] = name.rsplit("_", 1)[-1].upper()
        group.add_argument(flag_name(name), **kw)


def export_flags(args: argparse.Namespace) -> None:
    """Every settings flag given on the command line, as its environment variable."""
    for name in settings_fields() or {}:
        value = getattr(args, name, None)
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        os.environ[f"{ENV_PREFIX}{name.upper()}"] = str(value)
