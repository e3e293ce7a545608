"""The ``promptops`` command.

Server commands (`serve`, `migrate`) need ``promptops[server]``; every other command talks
to a running server over HTTP with ``--url``/``PROMPTOPS_BASE_URL`` and
``--key``/``PROMPTOPS_API_KEY``, so it works from the SDK-only install (CI machines), and
prints the API's JSON with ``--json``.
Exit status: 0 success, 1 a failure reported on stderr, 2 a usage error, 130 interrupted
(Ctrl-C), 141 the output's reader went away (a closed pipe).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from promptops import __version__
from promptops.cli.bridge import add_bridge_command
from promptops.cli.commands.environments import add_environment_commands
from promptops.cli.commands.evals import add_eval_commands
from promptops.cli.commands.imports import add_import_commands
from promptops.cli.commands.prompts import add_prompt_commands
from promptops.cli.commands.sync import add_sync_commands
from promptops.cli.commands.versions import add_diff_command, add_version_commands
from promptops.cli.commands.webhooks import add_webhook_commands
from promptops.cli.common import ENVS, add_client, project_flag, project_params, q, slug_arg
from promptops.cli.files import load_version_file
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.output import Shown, emit
from promptops.cli.serve import add_server_commands

__all__ = ["main"]


# ---- handlers: each returns the data to print -------------------------------------------


def projects_create(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("POST", "/v1/projects", json={"name": args.name})


def projects_list(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("GET", "/v1/projects")


def keys_create(api: ApiCaller, args: argparse.Namespace) -> Any:
    body = {"environment": args.env, "role": args.role, "name": args.name}
    body.update(project_params(args))
    return api.call("POST", "/v1/keys", json={k: v for k, v in body.items() if v is not None})


def keys_list(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("GET", "/v1/keys", params=project_params(args))


def key_prefix(value: str) -> str:
    """The prefix (``po_live_ab12cd34``) of a prefix or of a whole key."""
    parts = value.strip().split("_")
    if len(parts) >= 3 and parts[0] == "po" and parts[1] in ("live", "admin"):
        return "_".join(parts[:3])
    raise CliError(f"pass the key's prefix, e.g. po_live_ab12cd34 (got {value[:20]!r})")


def keys_revoke(api: ApiCaller, args: argparse.Namespace) -> Any:
    prefix = key_prefix(args.prefix)
    params = project_params(args)
    try:
        known = {k["prefix"]: k for k in api.call("GET", "/v1/keys", params=params)}
    except CliError:  # listing may need more than revoking; the revoke call decides
        known = {}
    before = known.get(prefix)
    if before is not None and before.get("revoked_at"):
        print(f"key {prefix} was already revoked at {before['revoked_at']}", file=sys.stderr)
        return before
    return api.call("DELETE", f"/v1/keys/{q(prefix)}", params=params)


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
    body = {
        "slug": args.slug,
        "name": args.name or args.slug,
        "description": args.description,
        "type": args.type,
    }
    return api.call("POST", "/v1/prompts", json={k: v for k, v in body.items() if v is not None})


def versions_create(api: ApiCaller, args: argparse.Namespace) -> Any:
    body = load_version_file(Path(args.file))
    if args.message:
        body["commit_message"] = args.message
    made = api.call("POST", f"/v1/prompts/{q(args.slug)}/versions", json=body)
    if made.get("created") is False:
        print(
            f"unchanged: the file equals version {made['version']}, active in dev;"
            " no version created",
            file=sys.stderr,
        )
    return made


def promote(api: ApiCaller, args: argparse.Namespace) -> Any:
    if (args.version is None) == (args.from_env is None):
        raise CliError("give exactly one of --version N or --from ENV")
    body = (
        {"version": args.version}
        if args.version is not None
        else {"from_environment": args.from_env}
    )
    return api.call("POST", f"/v1/prompts/{q(args.slug)}/deployments/{args.to}", json=body)


def rollback(api: ApiCaller, args: argparse.Namespace) -> Any:
    return api.call("POST", f"/v1/prompts/{q(args.slug)}/deployments/{args.env}/rollback")


def history(api: ApiCaller, args: argparse.Namespace) -> Any:
    path = f"/v1/prompts/{q(args.slug)}/deployments/{args.env}/history"
    return api.call("GET", path, params={"limit": args.limit})["data"]


# ---- parser -------------------------------------------------------------------------------


def _subcommands(parser: argparse.ArgumentParser) -> Any:
    return parser.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="promptops",
        description="PromptOps command line",
        epilog="exit status: 0 success, 1 failure (reason on stderr), 2 usage error,"
        " 130 interrupted (Ctrl-C), 141 closed pipe (e.g. `| head`)",
    )
    parser.add_argument("--version", action="version", version=f"promptops {__version__}")
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", help="what to work on"
    )
    add_server_commands(sub)

    psub = _subcommands(sub.add_parser("projects", help="projects (instance admin key)"))
    add_client(psub.add_parser("create", help="create a project"), projects_create).add_argument(
        "name", help="the project's display name"
    )
    add_client(psub.add_parser("list", help="list projects"), projects_list)

    ksub = _subcommands(sub.add_parser("keys", help="API keys"))
    kc = add_client(ksub.add_parser("create", help="create a key (shown once)"), keys_create)
    kc.add_argument("--env", required=True, choices=ENVS, help="the one environment it acts in")
    kc.add_argument(
        "--role", default="read", choices=["read", "write"], help="what it may do (default read)"
    )
    kc.add_argument("--name", help="a label for people reading the list, e.g. 'web app'")
    project_flag(kc)
    project_flag(add_client(ksub.add_parser("list", help="list keys"), keys_list))
    kr = add_client(
        ksub.add_parser("revoke", help="revoke a key (its prefix or the whole key)"), keys_revoke
    )
    kr.add_argument("prefix", help="the key's prefix (po_live_xxxxxxxx) or the whole key")
    project_flag(kr)

    prsub = _subcommands(sub.add_parser("prompts", help="prompts"))
    add_client(prsub.add_parser("list", help="list prompts"), prompts_list).add_argument(
        "--search", "-q", help="only prompts whose slug or name contains this"
    )
    pc = add_client(prsub.add_parser("create", help="create a prompt"), prompts_create)
    slug_arg(pc)
    pc.add_argument("--name", help="display name (default: the slug)")
    pc.add_argument("--description", help="what the prompt is for")
    pc.add_argument(
        "--type",
        choices=("chat", "text"),
        help="chat (messages; the default) or text (one template, e.g. a snippet); fixed",
    )
    add_prompt_commands(prsub)

    vsub = _subcommands(sub.add_parser("versions", help="prompt versions"))
    vc = add_client(vsub.add_parser("create", help="create a version from a file"), versions_create)
    slug_arg(vc)
    vc.add_argument("--file", "-f", required=True, help="JSON or YAML file with the fields")
    vc.add_argument("--message", "-m", help="commit message (overrides the file's)")
    add_version_commands(vsub)
    add_diff_command(sub)

    pr = add_client(
        sub.add_parser("promote", help="make a version active in an environment"), promote
    )
    slug_arg(pr)
    pr.add_argument("--to", required=True, choices=ENVS, help="the environment to deploy to")
    pr.add_argument("--version", type=int, metavar="N", help="deploy version N (instead of --from)")
    pr.add_argument(
        "--from",
        dest="from_env",
        choices=ENVS,
        help="deploy the version now active in this environment (instead of --version)",
    )

    rb = add_client(
        sub.add_parser("rollback", help="return an environment to its previous version"), rollback
    )
    slug_arg(rb)
    rb.add_argument("--env", required=True, choices=ENVS, help="the environment to roll back")

    hi = add_client(sub.add_parser("history", help="deployment history of an environment"), history)
    slug_arg(hi)
    hi.add_argument("--env", required=True, choices=ENVS, help="whose history")
    hi.add_argument(
        "--limit", type=int, default=50, help="how many entries, newest first (default 50)"
    )
    add_webhook_commands(sub)
    add_import_commands(sub)
    add_sync_commands(sub)
    add_bridge_command(sub)
    add_eval_commands(sub)
    add_environment_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if hasattr(args, "handler"):
            data = args.handler(ApiCaller(args.url, args.key), args)
            name = f"{args.command}_{args.action}" if hasattr(args, "action") else args.command
            emit(name, data, args.json)
            return data.status if isinstance(data, Shown) else 0
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
