"""The ``promptops`` command.

Server commands (`serve`, `migrate`) need ``promptops[server]``; every other command talks
to a running server over HTTP with ``--url``/``PROMPTOPS_BASE_URL`` and
``--key``/``PROMPTOPS_API_KEY``, so it works from the SDK-only install (CI machines).
Exit status: 0 success, 1 a failure reported on stderr, 2 a usage error, 130 interrupted
(Ctrl-C), 141 the output's reader went away (a closed pipe).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from promptops import __version__
from promptops.cli.files import load_version_file
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.serve import add_server_commands

__all__ = ["main"]

Handler = Callable[[ApiCaller, argparse.Namespace], Any]


def _q(value: str) -> str:
    return quote(value, safe="")


def _project_params(args: argparse.Namespace) -> dict[str, str]:
    return {"project_id": args.project_id} if getattr(args, "project_id", None) else {}


# ---- handlers: each returns the data to print -------------------------------------------


def projects_create(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("POST", "/v1/projects", json={"name": args.name})


def projects_list(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("GET", "/v1/projects")


def keys_create(api: ApiCaller, args: argparse.Namespace) -> Any:
    body = {"environment": args.env, "role": args.role, "name": args.name}
    body.update(_project_params(args))
    return api.call("POST", "/v1/keys", json={k: v for k, v in body.items() if v is not None})


def keys_list(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("GET", "/v1/keys", params=_project_params(args))


def key_prefix(value: str) -> str:
    """The prefix (``po_live_ab12cd34``) of a prefix or of a whole key."""
    parts = value.strip().split("_")
    if len(parts) >= 3 and parts[0] == "po" and parts[1] in ("live", "admin"):
        return "_".join(parts[:3])
    raise CliError(f"pass the key's prefix, e.g. po_live_ab12cd34 (got {value[:20]!r})")


def keys_revoke(api: ApiCaller, args: argparse.Namespace) -> Any:
    prefix = key_prefix(args.prefix)
    params = _project_params(args)
    try:
        known = {k["prefix"]: k for k in api.call("GET", "/v1/keys", params=params)}
    except CliError:  # listing may need more than revoking; the revoke call decides
        known = {}
    before = known.get(prefix)
    if before is not None and before.get("revoked_at"):
        print(f"key {prefix} was already revoked at {before['revoked_at']}", file=sys.stderr)
        return before
    return api.call("DELETE", f"/v1/keys/{_q(prefix)}", params=params)


def prompts_list(api: ApiCaller, args: argparse.Namespace) -> Any:
    items: list[Any] = []
    params: dict[str, Any] = {"limit": 200}
    if args.search:
        params["q"] = args.search
    while True:
        page = api.call("GET", "/v1/prompts", params=params)
        items += page["data"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]


def prompts_create(api: ApiCaller, args: argparse.Namespace) -> Any:
    body = {"slug": args.slug, "name": args.name or args.slug, "description": args.description}
    return api.call("POST", "/v1/prompts", json={k: v for k, v in body.items() if v is not None})


def versions_create(api: ApiCaller, args: argparse.Namespace) -> Any:
    body = load_version_file(Path(args.file))
    if args.message:
        body["commit_message"] = args.message
    return api.call("POST", f"/v1/prompts/{_q(args.slug)}/versions", json=body)


def versions_list(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("GET", f"/v1/prompts/{_q(args.slug)}/versions")["data"]


def promote(api: ApiCaller, args: argparse.Namespace) -> Any:
    if (args.version is None) == (args.from_env is None):
        raise CliError("give exactly one of --version N or --from ENV")
    body = (
        {"version": args.version}
        if args.version is not None
        else {"from_environment": args.from_env}
    )
    return api.call("POST", f"/v1/prompts/{_q(args.slug)}/deployments/{args.to}", json=body)


def rollback(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("POST", f"/v1/prompts/{_q(args.slug)}/deployments/{args.env}/rollback")


def history(api: ApiCaller, args: argparse.Namespace) -> Any:
    path = f"/v1/prompts/{_q(args.slug)}/deployments/{args.env}/history"
    return api.call("GET", path, params={"limit": args.limit})["data"]


# ---- output -------------------------------------------------------------------------------

_COLUMNS = {
    "projects_list": ["id", "name", "created_at"],
    "keys_list": [
        "prefix",
        "environment",
        "role",
        "name",
        "created_at",
        "last_used_at",
        "revoked_at",
    ],
    "prompts_list": ["slug", "name", "latest_version", "deployments"],
    "versions_list": ["version", "model", "temperature", "commit_message", "author", "created_at"],
    "history": ["created_at", "action", "version", "previous_version", "actor"],
}


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return " ".join(f"{k}={'-' if v is None else v}" for k, v in value.items())
    return str(value)


def _print(name: str, data: Any, as_json: bool) -> None:
    if as_json or name not in _COLUMNS or not isinstance(data, list):
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return
    columns = _COLUMNS[name]
    rows = [[_cell(item.get(c)) for c in columns] for item in data]
    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in rows:
        print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


# ---- parser -------------------------------------------------------------------------------

ENVS = ["dev", "staging", "production"]


def _client(parser: argparse.ArgumentParser, handler: Handler) -> argparse.ArgumentParser:
    parser.add_argument("--url", help="server URL (default: PROMPTOPS_BASE_URL or :8000)")
    parser.add_argument("--key", help="API key (default: PROMPTOPS_API_KEY)")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=handler)
    return parser


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="promptops",
        description="PromptOps command line",
        epilog="exit status: 0 success, 1 failure (reason on stderr), 2 usage error,"
        " 130 interrupted (Ctrl-C), 141 closed pipe (e.g. `| head`)",
    )
    parser.add_argument("--version", action="version", version=f"promptops {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_server_commands(sub)

    projects = sub.add_parser("projects", help="projects (instance admin key)")
    psub = projects.add_subparsers(dest="action", required=True)
    _client(psub.add_parser("create", help="create a project"), projects_create).add_argument(
        "name"
    )
    _client(psub.add_parser("list", help="list projects"), projects_list)

    keys = sub.add_parser("keys", help="API keys")
    ksub = keys.add_subparsers(dest="action", required=True)
    kc = _client(ksub.add_parser("create", help="create a key (shown once)"), keys_create)
    kc.add_argument("--env", required=True, choices=ENVS)
    kc.add_argument("--role", default="read", choices=["read", "write"])
    kc.add_argument("--name")
    kc.add_argument("--project-id", help="with the instance admin key")
    kl = _client(ksub.add_parser("list", help="list keys"), keys_list)
    kl.add_argument("--project-id", help="with the instance admin key")
    kr = _client(
        ksub.add_parser("revoke", help="revoke a key (its prefix or the whole key)"), keys_revoke
    )
    kr.add_argument("prefix")
    kr.add_argument("--project-id", help="with the instance admin key")

    prompts = sub.add_parser("prompts", help="prompts")
    prsub = prompts.add_subparsers(dest="action", required=True)
    _client(prsub.add_parser("list", help="list prompts"), prompts_list).add_argument(
        "--search", "-q"
    )
    pc = _client(prsub.add_parser("create", help="create a prompt"), prompts_create)
    pc.add_argument("slug")
    pc.add_argument("--name")
    pc.add_argument("--description")

    versions = sub.add_parser("versions", help="prompt versions")
    vsub = versions.add_subparsers(dest="action", required=True)
    vc = _client(vsub.add_parser("create", help="create a version from a file"), versions_create)
    vc.add_argument("slug")
    vc.add_argument("--file", "-f", required=True, help="JSON or YAML file with the fields")
    vc.add_argument("--message", "-m", help="commit message (overrides the file's)")
    _client(vsub.add_parser("list", help="list versions"), versions_list).add_argument("slug")

    pr = _client(sub.add_parser("promote", help="make a version active in an environment"), promote)
    pr.add_argument("slug")
    pr.add_argument("--to", required=True, choices=ENVS)
    pr.add_argument("--version", type=int)
    pr.add_argument("--from", dest="from_env", choices=ENVS)

    rb = _client(
        sub.add_parser("rollback", help="return an environment to its previous version"), rollback
    )
    rb.add_argument("slug")
    rb.add_argument("--env", required=True, choices=ENVS)

    hi = _client(sub.add_parser("history", help="deployment history of an environment"), history)
    hi.add_argument("slug")
    hi.add_argument("--env", required=True, choices=ENVS)
    hi.add_argument("--limit", type=int, default=50)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "handler"):
            data = args.handler(ApiCaller(args.url, args.key), args)
            name = f"{args.command}_{args.action}" if hasattr(args, "action") else args.command
            _print(name, data, args.json)
            return 0
        return int(args.func(args))
    except CliError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except EOFError:  # e.g. a password prompt reading a closed stdin
        print("error: no input (end of file) where input was needed", file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader went away (`promptops ... --json | head -1`): stop quietly like other
        # tools, and point stdout at /dev/null so the interpreter's final flush cannot fail.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
