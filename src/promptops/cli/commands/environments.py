"""`promptops environments list|set`: protection and required evals of environments."""

from __future__ import annotations

import argparse
import math
from typing import Any

from promptops.cli.common import ENVS, add_client, project_flag, project_params
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.output import Shown

__all__ = ["add_environment_commands"]


def _required(text: str) -> dict[str, Any]:
    """``NAME:MIN_SCORE`` (``quality:0.8``)."""
    name, sep, score = text.rpartition(":")
    try:
        value = float(score)
    except ValueError:
        value = math.nan
    if not sep or not name or not math.isfinite(value):
        raise argparse.ArgumentTypeError(
            f"expected NAME:MIN_SCORE, e.g. quality:0.8 (got {text!r})"
        )
    return {"name": name, "min_score": value}


def _line(env: dict[str, Any]) -> str:
    needs = ", ".join(f"{r['name']} >= {r['min_score']:g}" for r in env["required_evals"])
    protected = "protected" if env["protected"] else "not protected"
    return f"{env['name']}: {protected}; required evals: {needs or '-'}"


def environments_list(api: ApiCaller, args: argparse.Namespace) -> Shown:
    found = api.call("GET", "/v1/environments", params=project_params(args))
    return Shown(found, "\n".join(_line(e) for e in found))


def environments_set(api: ApiCaller, args: argparse.Namespace) -> Shown:
    body: dict[str, Any] = {}
    if args.protected is not None:
        body["protected"] = args.protected
    if args.no_required_evals:
        if args.require_eval:
            raise CliError("give --require-eval or --no-required-evals, not both")
        body["required_evals"] = []
    elif args.require_eval:
        body["required_evals"] = args.require_eval
    if not body:
        raise CliError("nothing to change: give --protected/--no-protected and/or --require-eval")
    changed = api.call(
        "PUT", f"/v1/environments/{args.env}", json=body, params=project_params(args)
    )
    return Shown(changed, _line(changed))


def add_environment_commands(sub: Any) -> None:
    esub = sub.add_parser("environments", help="protection and required evals of environments")
    actions = esub.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")
    project_flag(
        add_client(actions.add_parser("list", help="each environment's rules"), environments_list)
    )
    setter = add_client(
        actions.add_parser(
            "set",
            help="protect an environment and/or require evals there (project admins/owners)",
            description="Change an environment's rules; what is not given is unchanged."
            " --require-eval replaces the list of required evals.",
        ),
        environments_set,
    )
    setter.add_argument("env", metavar="ENV", choices=ENVS, help="staging or production")
    setter.add_argument(
        "--protected",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="promotions and rollbacks need another person's approval",
    )
    setter.add_argument(
        "--require-eval",
        type=_required,
        action="append",
        metavar="NAME:MIN_SCORE",
        help="a version is promoted here only when its latest NAME result passed with a score"
        " >= MIN_SCORE (repeat for several)",
    )
    setter.add_argument(
        "--no-required-evals", action="store_true", help="require no evals any more"
    )
    project_flag(setter)
