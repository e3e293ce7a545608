"""``promptops import langfuse|promptlayer``: bring a peer's prompts into this project.

Every prompt, all its versions in order and its labels are read from the peer's public REST
API and created here (see ``promptops.cli.importers``). Idempotent: a second run imports
nothing new. Exit status: 0 when everything was imported (notes about settings kept in
metadata are not failures), 1 when something could not be (listed in the summary), or the
peer or this server could not be reached.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from promptops.cli.common import add_client
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.importers.apply import PromptReport, import_prompts
from promptops.cli.importers.langfuse import LangfuseReader
from promptops.cli.importers.promptlayer import DEFAULT_URL as PROMPTLAYER_URL
from promptops.cli.importers.promptlayer import PromptLayerReader
from promptops.cli.output import emit

__all__ = ["add_import_commands"]


def _setting(value: str | None, *names: str, default: str | None = None) -> str | None:
    return value or next((os.environ[n] for n in names if os.environ.get(n)), None) or default


def _reader(args: argparse.Namespace) -> LangfuseReader | PromptLayerReader:
    if args.action == "langfuse":
        url = _setting(args.langfuse_url, "LANGFUSE_BASE_URL", "LANGFUSE_HOST")
        public = _setting(args.public_key, "LANGFUSE_PUBLIC_KEY")
        secret = _setting(args.secret_key, "LANGFUSE_SECRET_KEY")
        missing = [
            flag
            for flag, value in (
                ("--langfuse-url (LANGFUSE_BASE_URL)", url),
                ("--public-key (LANGFUSE_PUBLIC_KEY)", public),
                ("--secret-key (LANGFUSE_SECRET_KEY)", secret),
            )
            if not value
        ]
        if missing:
            raise CliError(f"missing {', '.join(missing)}")
        assert url and public and secret
        return LangfuseReader.connect(url, public, secret)
    url = _setting(args.promptlayer_url, "PROMPTLAYER_BASE_URL", default=PROMPTLAYER_URL)
    key = _setting(args.api_key, "PROMPTLAYER_API_KEY")
    if not key:
        raise CliError("missing --api-key (PROMPTLAYER_API_KEY)")
    assert url
    return PromptLayerReader.connect(url, key)


class _Progress:
    """``importing 3/40 support-reply`` on a terminal's stderr, rewritten in place."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        self.on = sys.stderr.isatty()

    def __call__(self, report: PromptReport) -> None:
        self.done += 1
        if self.on:
            print(
                f"\r\033[Kimporting {self.done}/{self.total} {report.slug}", end="", file=sys.stderr
            )
            if self.done == self.total:
                print(file=sys.stderr)


def _text(source: str, reports: list[PromptReport], dry_run: bool) -> str:
    verb = "would create" if dry_run else "created"
    lines = []
    for r in reports:
        head = f"{r.slug}: {verb} {len(r.created)} version(s)"
        if r.already:
            head += f", {r.already} already imported"
        if r.promoted:
            head += "; " + ", ".join(
                f"{env} -> v{v}" if v else env for env, v in r.promoted.items()
            )
        lines.append(head)
        lines += [f"  note: {n}" for n in r.notes]
        lines += [f"  NOT IMPORTED: {p}" for p in r.problems]
    created = sum(len(r.created) for r in reports)
    failed = sum(len(r.problems) for r in reports)
    lines.append(
        f"{len(reports)} prompt(s) from {source}: {verb} {created} version(s);"
        f" {failed} problem(s)" + (" (dry run: nothing was written)" if dry_run else "")
    )
    return "\n".join(lines)


def import_command(api: ApiCaller, args: argparse.Namespace) -> Any:
    reader = _reader(args)
    if args.project_id:
        api.headers["X-PromptOps-Project"] = args.project_id
    api.call("GET", "/v1/prompts", params={"limit": 1})  # the key works here, before reading
    entries = reader.listing()
    progress = _Progress(len(entries))
    reports = import_prompts(
        api,
        reader.source,
        (reader.read(entry) for entry in entries),
        dry_run=args.dry_run,
        default_model=args.default_model,
        on_prompt=progress,
    )
    data = {
        "source": reader.source,
        "dry_run": args.dry_run,
        "prompts": [r.as_json() for r in reports],
    }
    if args.json:
        emit("import", data, as_json=True)
    else:
        print(_text(reader.source, reports, args.dry_run))
    failed = sum(len(r.problems) for r in reports)
    if failed:
        raise CliError(f"{failed} thing(s) could not be imported (listed above)")
    return None


def add_import_commands(sub: Any) -> None:
    parser = sub.add_parser(
        "import", help="import every prompt, version and label from Langfuse or PromptLayer"
    )
    isub = parser.add_subparsers(dest="action", required=True, metavar="SOURCE", help="the peer")
    lf = add_client(
        isub.add_parser("langfuse", help="from a Langfuse project (public API, v2 prompts)"),
        import_command,
    )
    lf.add_argument(
        "--langfuse-url", help="Langfuse's URL (default: LANGFUSE_BASE_URL or LANGFUSE_HOST)"
    )
    lf.add_argument("--public-key", help="Langfuse public key (default: LANGFUSE_PUBLIC_KEY)")
    lf.add_argument("--secret-key", help="Langfuse secret key (default: LANGFUSE_SECRET_KEY)")
    pl = add_client(
        isub.add_parser("promptlayer", help="from a PromptLayer workspace (REST API)"),
        import_command,
    )
    pl.add_argument(
        "--promptlayer-url",
        help=f"PromptLayer's API URL (default: PROMPTLAYER_BASE_URL or {PROMPTLAYER_URL})",
    )
    pl.add_argument("--api-key", help="PromptLayer API key (default: PROMPTLAYER_API_KEY)")
    for each in (lf, pl):
        each.add_argument(
            "--project-id",
            help="with a personal token: the project to import into (project keys know theirs)",
        )
        each.add_argument(
            "--dry-run", action="store_true", help="show what would be imported; write nothing"
        )
        each.add_argument(
            "--default-model",
            default="gpt-4o-mini",
            help="the model of versions whose source names none (default gpt-4o-mini)",
        )
