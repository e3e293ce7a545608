"""`promptops versions list|show|export` and `promptops diff`."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from promptops._json import json_equal
from promptops.cli.commands.evals import eval_lines, list_evals
from promptops.cli.commands.prompts import version_text
from promptops.cli.common import ENVS, add_client, q, resolve_version, slug_arg, version_ref
from promptops.cli.files import VERSION_FIELDS
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.output import Shown, cell, colour_diff, use_colour

__all__ = ["add_diff_command", "add_version_commands", "field_diff", "version_file"]

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
    """The version and the latest of each of its eval results; with --json the API's
    version as it is (`promptops evals list --json` gives the results)."""
    version = _get(api, args.slug, args.version)
    results = list_evals(api, args.slug, int(version["version"]))
    lines = [f"{version['slug']} v{version['version']}"]
    lines += [
        f"{k}: {cell(version.get(k))}"
        for k in ("commit_message", "author", "created_at", "variables")
    ]
    lines += ["evals:", *eval_lines(results)] if results else ["evals: -"]
    return Shown(version, "\n".join(lines + version_text(version)))


def _fields(*versions: dict[str, Any]) -> list[str]:
    """The file fields of versions of the API: the older ``system_prompt`` +
    ``user_template`` when every one has that shape, else their ``messages`` (or ``text``)."""
    older = all(v.get("user_template") is not None for v in versions)
    skip = ("messages",) if older else ("system_prompt", "user_template")
    return [k for k in VERSION_FIELDS if k not in skip]


_CONTENT = frozenset({"messages", "text", "system_prompt", "user_template"})


def version_file(version: dict[str, Any]) -> dict[str, Any]:
    """The fields of a version file (`versions create --file`) for a version of the API.
    Empty settings are left out; the content never is (an empty template is content)."""
    return {
        k: version[k]
        for k in _fields(version)
        if (k in _CONTENT and version.get(k) is not None)
        or version.get(k) not in (None, {}, "", [])
    }


def _file_text(path: Path | None, fields: dict[str, Any]) -> str:
    if path is not None and path.suffix.lower() in (".yaml", ".yml"):
        try:
            import yaml
        except ImportError:
            raise CliError(f"{path}: writing YAML needs PyYAML (pip install pyyaml)") from None
        return str(yaml.safe_dump(fields, allow_unicode=True, sort_keys=False))
    return json.dumps(fields, indent=2, ensure_ascii=False) + "\n"


def versions_export(api: ApiCaller, args: argparse.Namespace) -> Shown:
    """A version as a file that `versions create --file` reads back (which then creates
    nothing while that version is dev's): to stdout, or to --output."""
    fields = version_file(_get(api, args.slug, args.version))
    text = _file_text(args.output, fields)
    if args.output is None:
        return Shown(fields, text.rstrip("\n"))
    try:
        with args.output.open("x" if not args.force else "w", encoding="utf-8") as out:
            out.write(text)
    except FileExistsError:
        raise CliError(f"{args.output}: exists; --force overwrites it") from None
    except OSError as exc:
        raise CliError(f"{args.output}: cannot write: {exc.strerror or exc}") from None
    return Shown(fields, f"wrote {args.output}")


def _field_lines(value: Any) -> list[str]:
    if isinstance(value, str):
        return value.splitlines()
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False).splitlines()


def field_diff(
    old: dict[str, Any], new: dict[str, Any], old_label: str, new_label: str
) -> dict[str, list[str]]:
    """A unified diff per field that differs between two versions (the API's JSON)."""
    out: dict[str, list[str]] = {}
    for name in _fields(old, new):
        a, b = old.get(name), new.get(name)
        if json_equal(a, b):
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
    export = add_client(
        vsub.add_parser(
            "export", help="a version as a file that `versions create --file` takes back"
        ),
        versions_export,
    )
    slug_arg(export)
    export.add_argument("version", type=version_ref, help=_REF_HELP)
    export.add_argument(
        "--output", "-o", type=Path, help="write this file (.json, or .yaml/.yml) not stdout"
    )
    export.add_argument("--force", action="store_true", help="overwrite --output if it exists")


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
