"""`promptops versions list|show` and `promptops diff`."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from typing import Any

from promptops.cli.commands.prompts import version_text
from promptops.cli.common import ENVS, add_client, q, resolve_version, slug_arg, version_ref
from promptops.cli.files import VERSION_FIELDS
from promptops.cli.http import ApiCaller
from promptops.cli.output import Shown, cell, colour_diff, use_colour

__all__ = ["add_diff_command", "add_version_commands", "field_diff"]

_REF_HELP = f"a version number, or an environment ({', '.join(ENVS)}) for its active version"


def versions_list(api: ApiCaller, args: argparse.Namespace) -> Any:
    items: list[Any] = []
    params: dict[str, Any] = {"limit": 200}
    while True:  # every page, newest first
        page = api.call("GET", f"/v1/prompts/{q(args.slug)}/versions", params=params)
        items += page["data"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]


def _get(api: ApiCaller, slug: str, ref: int | str) -> dict[str, Any]:
    number = resolve_version(api, slug, ref)
    return dict(api.call("GET", f"/v1/prompts/{q(slug)}/versions/{number}"))


def versions_show(api: ApiCaller, args: argparse.Namespace) -> Shown:
    version = _get(api, args.slug, args.version)
    lines = [f"{version['slug']} v{version['version']}"]
    lines += [
        f"{k}: {cell(version.get(k))}"
        for k in ("commit_message", "author", "created_at", "variables")
    ]
    return Shown(version, "\n".join(lines + version_text(version)))


def _field_lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def field_diff(
    old: dict[str, Any], new: dict[str, Any], old_label: str, new_label: str
) -> dict[str, list[str]]:
    """A unified diff per field that differs between two versions (the API's JSON)."""
    out: dict[str, list[str]] = {}
    for name in VERSION_FIELDS:
        a, b = old.get(name), new.get(name)
        if a == b:
            continue
        out[name] = list(
            difflib.unified_diff(
                _field_lines(a),
                _field_lines(b),
                fromfile=f"{old_label} {name}",
                tofile=f"{new_label} {name}",
                lineterm="",
            )
        )
    return out


def _label(version: dict[str, Any], ref: int | str) -> str:
    return f"v{version['version']}" + (f" ({ref})" if isinstance(ref, str) else "")


def diff(api: ApiCaller, args: argparse.Namespace) -> Shown:
    old, new = _get(api, args.slug, args.a), _get(api, args.slug, args.b)
    old_label, new_label = _label(old, args.a), _label(new, args.b)
    changes = field_diff(old, new, old_label, new_label)
    data = {"slug": old["slug"], "from": old, "to": new, "changed": list(changes)}
    if not changes:
        return Shown(data, f"{old['slug']}: {old_label} and {new_label} do not differ")
    lines = [line for diff_lines in changes.values() for line in diff_lines]
    return Shown(data, "\n".join(colour_diff(lines, use_colour(sys.stdout))))


def add_version_commands(vsub: Any) -> None:
    listing = add_client(
        vsub.add_parser("list", help="list a prompt's versions, newest first"), versions_list
    )
    slug_arg(listing)
    show = add_client(
        vsub.add_parser("show", help="one version: its texts, settings and commit message"),
        versions_show,
    )
    slug_arg(show)
    show.add_argument("version", type=version_ref, help=_REF_HELP)


def add_diff_command(sub: Any) -> None:
    parser = add_client(
        sub.add_parser(
            "diff",
            help="unified diff of every field of two versions",
            description="Unified diff of every field of two versions of a prompt, coloured"
            " when stdout is a terminal and NO_COLOR is unset.",
        ),
        diff,
    )
    slug_arg(parser)
    parser.add_argument("a", metavar="A", type=version_ref, help=f"the old side: {_REF_HELP}")
    parser.add_argument("b", metavar="B", type=version_ref, help=f"the new side: {_REF_HELP}")
