"""`promptops sync status|push|pull`: prompt files (``prompts/<slug>.yaml``) and the registry.

Agents are files too: ``type: agent`` and the version's workflow under ``definition``
(docs/gitops.md); they are pushed, pulled and compared as prompts are.

- ``status``: each file unchanged, changed (with a summary of what), new, or a prompt only
  in the registry; ``--check`` exits 1 when anything differs (CI on pull requests).
- ``push``: creates missing prompts and a version for each file whose content differs from
  its prompt's latest version, in one transaction on the server (all files or none);
  ``--promote ENV`` deploys each file's latest version too. Pushing twice creates nothing.
  Inside a git work tree each new version's ``metadata.git`` records commit, path, remote.
- ``pull``: writes the versions active in an environment; files that would not change are
  not touched.

Requests: status and push read the registry's state in one request (``GET /v1/sync``);
push sends what changed in one more (``POST /v1/sync``), status fetches the registry's
content only when a file changed; pull makes one request. Exit status: 0 done (status:
also when files differ, unless ``--check``), 1 a failure or, with ``--check``, a
difference, 2 a usage error.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from promptops.cli.common import ENVS, add_client
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.output import Shown
from promptops.cli.progress import Progress

__all__ = ["add_sync_commands"]

DEFAULT_DIR = "prompts"
_FILES = re.compile(r"files\.([0-9]+)(?: \([^)]*\))?")
_PUSH_TIMEOUT = 300.0  # a push of thousands of changed files is one request


def _gitops() -> Any:
    """The gitops modules: they check files with the contract (``promptops[server]``)."""
    try:
        from promptops.gitops import files, git, sync
    except ImportError as exc:  # the SDK-only install has no pydantic / PyYAML
        raise CliError(
            f"promptops sync needs the contract and PyYAML: pip install 'promptops[server]'"
            f" ({exc.name} is missing)"
        ) from None
    return files, git, sync


def _load(folder: Path, args: argparse.Namespace) -> Any:
    _, _, sync = _gitops()
    if not folder.is_dir():
        raise CliError(f"{folder}: no such directory (pass --dir)")
    count = len(sync.find_files(folder))
    with Progress("reading files", count, enabled=not args.json) as bar:
        loaded = sync.load_dir(folder, base=Path.cwd(), tick=bar.tick)
    if loaded.errors:
        lines = [f"  {e.message}" for e in loaded.errors]
        raise CliError(f"{len(loaded.errors)} file(s) cannot be read:\n" + "\n".join(lines))
    return loaded


def _with_definition(item: dict[str, Any]) -> dict[str, Any]:
    """A ``/v1/sync/files`` item whose version holds its agent's ``definition`` (what the
    file functions read)."""
    if item.get("definition") is None:
        return item
    return {**item, "version": {**item["version"], "definition": item["definition"]}}


def _count(entries: list[Any], status: str) -> int:
    return sum(e.status == status for e in entries)


# ---- status ------------------------------------------------------------------------------


def sync_status(api: ApiCaller, args: argparse.Namespace) -> Shown:
    _, _, sync = _gitops()
    loaded = _load(Path(args.dir), args)
    state = api.call("GET", "/v1/sync")
    entries = sync.status_entries(loaded.files, state, args.env)
    diffs: dict[str, Any] = {}
    if any(e.status == "changed" for e in entries):
        params = {"environment": args.env} if args.env else {}
        remote = api.call("GET", "/v1/sync/files", params=params)["files"]
        theirs = {f["prompt"]["slug"]: _with_definition(f) for f in remote}
        mine = loaded.by_slug()
        for e in entries:
            if e.status == "changed" and e.slug in theirs:
                t = theirs[e.slug]
                diffs[e.slug] = sync.diff_summary(mine[e.slug], t["prompt"], t["version"])
    differ = any(e.status != "unchanged" for e in entries)
    against = f"the versions active in {args.env}" if args.env else "the latest versions"
    data = {
        "in_sync": not differ,
        "environment": args.env,
        "files": [{**e.as_json(), "diff": diffs.get(e.slug)} for e in entries],
    }
    lines = []
    for e in entries:
        if e.status == "only-in-registry":
            lines.append(f"only in registry  {e.slug} (no file)")
            continue
        line = f"{e.status:<17} {e.path}"
        d = diffs.get(e.slug)
        if d is not None:
            line += f"  ({', '.join(d['fields']) or 'formatting'}; +{d['added']} -{d['removed']})"
        lines.append(line)
    lines.append(
        f"{len(loaded.files)} file(s) against {against}: {_count(entries, 'unchanged')}"
        f" unchanged, {_count(entries, 'changed')} changed, {_count(entries, 'new')} new;"
        f" {_count(entries, 'only-in-registry')} only in the registry"
    )
    return Shown(data, "\n".join(lines), status=1 if args.check and differ else 0)


# ---- push --------------------------------------------------------------------------------


def _name_files(message: str, paths: list[str]) -> str:
    """The server names a file by its place in the body (``files.3``): say its path."""

    def path(match: re.Match[str]) -> str:
        i = int(match.group(1))
        return paths[i] if i < len(paths) else match.group(0)

    return _FILES.sub(path, message)


def sync_push(api: ApiCaller, args: argparse.Namespace) -> Shown:
    _, git, sync = _gitops()
    folder = Path(args.dir)
    loaded = _load(folder, args)
    if not loaded.files:
        raise CliError(f"{folder}: no prompt files (*.yaml, *.yml)")
    state = api.call("GET", "/v1/sync")
    plan = sync.push_plan(loaded.files, state, args.promote)
    send = [e for e in plan if e.status != "unchanged" or e.promote]
    unchanged = len(plan) - len(send)
    if not send:
        data = {
            "dry_run": args.dry_run,
            "promote": args.promote,
            "results": [],
            "unchanged": unchanged,
        }
        return Shown(data, f"nothing to push: {unchanged} file(s) unchanged")
    tree = git.work_tree(folder)
    mine = loaded.by_slug()
    files = [mine[e.slug] for e in send]
    body = sync.push_body(
        files,
        git=(lambda p: tree.origin(Path(p))) if tree is not None else None,
        promote=args.promote,
        message=args.message or (tree.subject if tree is not None else None),
        dry_run=args.dry_run,
    )
    paths = [f.path for f in files]
    api.timeout = max(api.timeout, _PUSH_TIMEOUT)
    try:
        result = api.call("POST", "/v1/sync", json=body)
    except CliError as exc:
        raise CliError(_name_files(exc.message, paths)) from None
    for item, file in zip(result["results"], files, strict=True):
        item["path"], item["type"] = file.path, file.type
    result["unchanged"] = unchanged
    return Shown(result, _push_text(result, unchanged))


def _push_text(result: dict[str, Any], unchanged: int) -> str:
    lines = []
    for r in result["results"]:
        what = []
        if r["prompt"] == "created":
            what.append("new agent" if r.get("type") == "agent" else "new prompt")
        elif r["prompt"] == "updated":
            what.append("name/description updated")
        what.append(f"v{r['version']} created" if r["version_created"] else f"v{r['version']}")
        if r["promoted"]:
            what.append(f"promoted to {result['promote']}")
        lines.append(f"{r['path']}: {', '.join(what)}")
    head = "dry run (nothing stored): would push" if result["dry_run"] else "pushed"
    promoted = (
        f", {result['promoted']} promoted to {result['promote']}" if result["promote"] else ""
    )
    lines.append(
        f"{head} {len(result['results'])} file(s): {result['created_versions']} version(s)"
        f" created ({result['created_prompts']} new prompt(s)){promoted}; {unchanged} unchanged"
    )
    return "\n".join(lines)


# ---- pull --------------------------------------------------------------------------------


def sync_pull(api: ApiCaller, args: argparse.Namespace) -> Shown:
    files, _, sync = _gitops()
    folder = Path(args.dir)
    remote = api.call("GET", "/v1/sync/files", params={"environment": args.env})["files"]
    loaded = sync.load_dir(folder, base=Path.cwd()) if folder.is_dir() else sync.Loaded()
    existing = {f.slug: Path(f.path) for f in loaded.files}
    mine = loaded.by_slug()
    broken = {Path(e.path).resolve(): e for e in loaded.errors}
    written: list[str] = []
    same: list[str] = []
    skipped: list[dict[str, str]] = []
    with Progress("writing files", len(remote), enabled=not args.json) as bar:
        for item in remote:
            prompt, version = item["prompt"], _with_definition(item)["version"]
            path = sync.target_path(folder, prompt["slug"], existing)
            shown = path.as_posix()
            bar.tick()
            if path.resolve() in broken:
                problem = broken[path.resolve()].message
                skipped.append({"slug": prompt["slug"], "path": shown, "reason": problem})
                continue
            local = mine.get(prompt["slug"])
            if local is not None and sync.same_content(local, prompt, version):
                same.append(shown)  # the same prompt, however the file is laid out
                continue
            text = files.prompt_file_text(prompt, version)
            (written if sync.write_if_changed(path, text) else same).append(shown)
    data = {"environment": args.env, "written": written, "unchanged": same, "skipped": skipped}
    lines = [f"wrote {p}" for p in written]
    lines += [f"skipped {s['path']}: {s['reason']}" for s in skipped]
    lines.append(
        f"{len(remote)} prompt(s) active in {args.env}: {len(written)} written,"
        f" {len(same)} unchanged" + (f", {len(skipped)} skipped" if skipped else "")
    )
    return Shown(data, "\n".join(lines), status=1 if skipped else 0)


# ---- parser ------------------------------------------------------------------------------


def _dir_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir",
        default=DEFAULT_DIR,
        help=f"the directory of prompt files, one <slug>.yaml each (default {DEFAULT_DIR})",
    )


def add_sync_commands(sub: Any) -> None:
    parser = sub.add_parser(
        "sync",
        help="prompt files (prompts/<slug>.yaml) and the registry: status, push, pull",
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        epilog="exit status: 0 done, 1 failure (or a difference with status --check),"
        " 2 usage error",
    )
    actions = parser.add_subparsers(
        dest="action", required=True, metavar="ACTION", help="what to do"
    )
    st = add_client(
        actions.add_parser(
            "status", help="compare files with the registry (unchanged, changed, new, ...)"
        ),
        sync_status,
    )
    _dir_flag(st)
    st.add_argument(
        "--env",
        choices=ENVS,
        help="compare with the versions active here (default: each prompt's latest version)",
    )
    st.add_argument("--check", action="store_true", help="exit 1 when anything differs (for CI)")
    pu = add_client(
        actions.add_parser(
            "push", help="publish changed files as new versions, all in one transaction"
        ),
        sync_push,
    )
    _dir_flag(pu)
    pu.add_argument(
        "--promote",
        choices=ENVS,
        metavar="ENV",
        help="also make each file's latest version active in ENV (dev, staging, production)",
    )
    pu.add_argument(
        "--dry-run",
        action="store_true",
        help="check everything on the server and report what would change; store nothing",
    )
    pu.add_argument(
        "--message",
        "-m",
        help="commit message of the new versions (default: the git commit's subject)",
    )
    pl = add_client(
        actions.add_parser("pull", help="write the versions active in an environment"),
        sync_pull,
    )
    _dir_flag(pl)
    pl.add_argument(
        "--env", choices=ENVS, default="dev", help="whose active versions (default dev)"
    )
