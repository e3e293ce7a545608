"""`promptops evals push|list`: eval results on a version (CI records them)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

from promptops.cli.common import ENVS, add_client, q, resolve_version, slug_arg, version_ref
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.junit import read_report
from promptops.cli.output import Shown, table

__all__ = ["add_eval_commands", "eval_lines", "list_evals"]

_REF_HELP = f"a version number, or an environment ({', '.join(ENVS)}) for its active version"
COLUMNS = ["name", "score", "passed", "threshold", "created_at", "created_by", "url"]


def _score(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def list_evals(api: ApiCaller, slug: str, number: int) -> list[dict[str, Any]]:
    """Every result of the version, newest first."""
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 200}
    while True:
        page = api.call("GET", f"/v1/prompts/{q(slug)}/versions/{number}/evals", params=params)
        items += page["data"]
        if not page.get("next_cursor"):
            return items
        params["cursor"] = page["next_cursor"]


def eval_lines(results: list[dict[str, Any]]) -> list[str]:
    """The latest result of each name, one line each (for `versions show`)."""
    latest: dict[str, dict[str, Any]] = {}
    for result in results:  # newest first: the first of a name is its latest
        latest.setdefault(result["name"], result)
    lines = []
    for name in sorted(latest):
        r = latest[name]
        verdict = "passed" if r["passed"] else "FAILED"
        extra = f" (threshold {r['threshold']:g})" if r.get("threshold") is not None else ""
        where = f"  {r['url']}" if r.get("url") else ""
        lines.append(f"  {name}: {r['score']:g} {verdict}{extra}{where}")
    return lines


def _common(args: argparse.Namespace) -> dict[str, Any]:
    body = {"url": args.url_link, "ci_run_id": args.ci_run_id, "commit": args.commit}
    return {k: v for k, v in body.items() if v is not None}


def evals_push(api: ApiCaller, args: argparse.Namespace) -> Shown:
    if (args.junit is None) == (args.score is None):
        raise CliError("give --score (with --name) or --junit FILE")
    if args.junit is None and not args.name:
        raise CliError("--score needs --name: which evaluation it is")
    if args.junit is not None and (args.passed is not None or args.threshold is not None):
        raise CliError("--passed and --threshold come from the report with --junit")
    if args.junit is not None:
        suites = read_report(args.junit)  # every problem of the file before anything is sent
        bodies = [
            {
                "name": _junit_name(args.name, s.name, len(suites)),
                "score": s.score,
                "passed": s.passed,
                "details": {"junit": s.details},
                **_common(args),
            }
            for s in suites
        ]
    else:
        passed = (
            args.passed
            if args.passed is not None
            else (args.threshold is not None and args.score >= args.threshold)
        )
        body = {"name": args.name, "score": args.score, "passed": passed, **_common(args)}
        if args.threshold is not None:
            body["threshold"] = args.threshold
        bodies = [body]
    for body in bodies:  # all of them before any is sent: a report is recorded whole
        _check(body, args.junit)
    number = resolve_version(api, args.slug, args.version)
    path = f"/v1/prompts/{q(args.slug)}/versions/{number}/evals"
    made = [api.call("POST", path, json=body) for body in bodies]
    lines = [f"{args.slug} v{number}: recorded {len(made)} eval result(s)"]
    lines += eval_lines(list(reversed(made)))
    return Shown(made, "\n".join(lines))


def _check(body: dict[str, Any], report: Path | None) -> None:
    """The contract's verdict on a result (nothing when the contract is not installed: the
    server checks it)."""
    try:
        from promptops.contract.evals import EvalCreate
        from promptops.contract.validation import parse
        from promptops.errors import InvalidInputError
    except ImportError:  # the SDK-only install
        return
    try:
        parse(EvalCreate, body)
    except InvalidInputError as exc:
        where = f"{report}: suite {body['name'][:60]!r}: " if report is not None else ""
        raise CliError(f"{where}{exc.message}") from None


def _junit_name(prefix: str | None, suite: str, count: int) -> str:
    if not prefix:
        return suite
    return prefix if count == 1 else f"{prefix}/{suite}"


def evals_list(api: ApiCaller, args: argparse.Namespace) -> Shown:
    number = resolve_version(api, args.slug, args.version)
    results = list_evals(api, args.slug, number)
    if not results:
        return Shown(results, f"{args.slug} v{number}: no eval results")
    return Shown(results, table(results, COLUMNS))


def add_eval_commands(sub: Any) -> None:
    esub = sub.add_parser("evals", help="eval results on versions (CI records them)")
    actions = esub.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")
    push = add_client(
        actions.add_parser(
            "push",
            help="record an eval result (or a JUnit report's suites) on a version",
            description="Record one result (--name, --score) or, with --junit, one per test"
            " suite of a JUnit XML report (score = passed / run, passed = no failure or"
            " error). A protected environment may require passing results to promote."
            " --url is the link to the run; the server is --server or PROMPTOPS_BASE_URL.",
        ),
        evals_push,
        server_flag="--server",  # --url is the run's link here, as CI scripts write it
    )
    slug_arg(push)
    push.add_argument("version", metavar="N", type=version_ref, help=_REF_HELP)
    push.add_argument("--name", help="the evaluation's name (with --junit: renames the suite)")
    push.add_argument("--score", type=_score, help="its score, e.g. 0.93")
    push.add_argument(
        "--passed",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="whether it passed (default: score >= --threshold, else not passed)",
    )
    push.add_argument("--threshold", type=_score, help="the score it had to reach")
    push.add_argument("--junit", type=Path, metavar="FILE", help="a JUnit XML report to import")
    push.add_argument(
        "--url",
        dest="url_link",
        metavar="URL",
        help="a link to the CI run (the server is --server or PROMPTOPS_BASE_URL here)",
    )
    push.add_argument("--ci-run-id", help="the CI run's id")
    push.add_argument("--commit", help="the git commit evaluated")
    listing = add_client(
        actions.add_parser("list", help="a version's eval results, newest first"), evals_list
    )
    slug_arg(listing)
    listing.add_argument("version", metavar="N", type=version_ref, help=_REF_HELP)
