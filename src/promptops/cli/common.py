"""Pieces every client command shares: URL quoting, the common flags, version references."""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from promptops.cli.http import ApiCaller, CliError

__all__ = [
    "ENVS",
    "Handler",
    "add_client",
    "project_flag",
    "project_params",
    "q",
    "resolve_version",
    "slug_arg",
    "version_ref",
]

ENVS = ["dev", "staging", "production"]
Handler = Callable[[ApiCaller, argparse.Namespace], Any]
_NUMBER = re.compile(r"[vV]?([0-9]{1,10})")


def q(value: str) -> str:
    return quote(value, safe="")


def project_params(args: argparse.Namespace) -> dict[str, str]:
    return {"project_id": args.project_id} if getattr(args, "project_id", None) else {}


def add_client(
    parser: argparse.ArgumentParser, handler: Handler, *, server_flag: str = "--url"
) -> argparse.ArgumentParser:
    """The flags of a command that calls the API, and the handler that does it
    (``server_flag``: another name for ``--url`` where that means something else)."""
    parser.add_argument(
        server_flag, dest="url", help="server URL (default: PROMPTOPS_BASE_URL or :8000)"
    )
    parser.add_argument("--key", help="API key (default: PROMPTOPS_API_KEY)")
    parser.add_argument(
        "--json", action="store_true", help="print the API's JSON instead of the human output"
    )
    parser.set_defaults(handler=handler)
    return parser


def slug_arg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("slug", metavar="SLUG", help="the prompt's slug, e.g. support-reply")


def project_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--project-id", help="the project (only with the instance admin key, which has none)"
    )


def version_ref(text: str) -> int | str:
    """A version number (``3`` or ``v3``) or an environment name (its active version)."""
    if text in ENVS:
        return text
    match = _NUMBER.fullmatch(text.strip())
    if match and 1 <= int(match.group(1)) <= 2_147_483_647:
        return int(match.group(1))
    raise argparse.ArgumentTypeError(
        f"expected a version number (e.g. 3) or an environment ({', '.join(ENVS)}), got {text!r}"
    )


def resolve_version(api: ApiCaller, slug: str, ref: int | str) -> int:
    """The version number ``ref`` names: itself, or the version active in that environment."""
    if isinstance(ref, int):
        return ref
    active = api.call("GET", f"/v1/prompts/{q(slug)}/deployments")["environments"].get(ref)
    if not active:
        raise CliError(f"nothing is deployed in {ref} for {slug!r}")
    return int(active["version"])
