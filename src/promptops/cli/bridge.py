"""``promptops gitops-bridge``: the pull/merge-request bridge as its own process (needs
``promptops[gitops]``). Imports nothing of it at module level: the CLI also runs from the
SDK-only install."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from promptops.cli.http import CliError

__all__ = ["add_bridge_command"]


def cmd_bridge(args: argparse.Namespace) -> int:
    try:
        from promptops.gitops.bridge.app import serve
        from promptops.gitops.bridge.config import config_from
        from promptops.gitops.bridge.errors import BridgeConfigError
    except ImportError as exc:
        raise CliError(
            f"promptops gitops-bridge needs pip install 'promptops[gitops]' ({exc.name} is missing)"
        ) from None
    try:
        config = config_from(args, os.environ)
    except BridgeConfigError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    serve(config)
    return 0


def add_bridge_command(sub: Any) -> None:
    p = sub.add_parser(
        "gitops-bridge",
        help="open a pull/merge request for each version made in PromptOps (a webhook server)",
        description="Receives PromptOps' signed webhooks and writes each new version's file on"
        " a branch promptops/<slug>-v<N>, pushes it and opens a GitHub pull request or a GitLab"
        " merge request. Each flag falls back to the environment variable named in its help.",
    )
    from promptops.gitops.bridge.config import add_bridge_arguments  # standard library only

    add_bridge_arguments(p)
    p.set_defaults(func=cmd_bridge)
