"""What ``promptops sync`` decides, without I/O to the server: which files a directory
holds, how each compares with the registry's state (``GET /v1/sync``), what a push sends
(``POST /v1/sync``) and what a pull writes. The CLI (``promptops.cli.commands.sync``) does
the HTTP calls and the printing.
"""

from __future__ import annotations

import difflib
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from promptops._json import json_equal
from promptops.contract.gitops import FILE_FIELDS
from promptops.gitops.files import (
    PromptFile,
    PromptFileError,
    default_path,
    file_data,
    parse_prompt_file,
    prompt_file_text,
)

__all__ = [
    "Entry",
    "Loaded",
    "diff_summary",
    "find_files",
    "head_of",
    "load_dir",
    "push_body",
    "push_plan",
    "same_content",
    "status_entries",
    "target_path",
    "write_if_changed",
]

Status = Literal["unchanged", "changed", "new", "only-in-registry"]
Tick = Callable[[], None]


def find_files(folder: Path) -> list[Path]:
    """The prompt files under ``folder`` (``*.yaml``, ``*.yml``, recursively), sorted."""
    if not folder.is_dir():
        return []
    found = [p for p in folder.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()]
    return sorted(found)


@dataclass
class Loaded:
    """A directory's files: parsed, and the errors of those that did not parse."""

    files: list[PromptFile] = field(default_factory=list)
    errors: list[PromptFileError] = field(default_factory=list)

    def by_slug(self) -> dict[str, PromptFile]:
        return {f.slug: f for f in self.files}


def _shown(path: Path, base: Path | None) -> str:
    if base is not None:
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return path.as_posix()


def load_dir(folder: Path, *, base: Path | None = None, tick: Tick | None = None) -> Loaded:
    """Every prompt file under ``folder``, parsed (paths shown relative to ``base``); two
    files with one slug are an error naming both."""
    out = Loaded()
    seen: dict[str, str] = {}
    for path in find_files(folder):
        shown = _shown(path, base)
        try:
            try:
                text = path.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                raise PromptFileError(shown, "not UTF-8 text", line=None, field=None) from None
            parsed = parse_prompt_file(shown, text)
            if parsed.slug in seen:
                raise PromptFileError(
                    shown,
                    f"slug: {parsed.slug!r} is also the slug of {seen[parsed.slug]}",
                    line=1,
                    field="slug",
                )
            seen[parsed.slug] = shown
            out.files.append(parsed)
        except PromptFileError as exc:
            out.errors.append(exc)
        except OSError as exc:
            out.errors.append(
                PromptFileError(shown, f"cannot read: {exc.strerror}", line=None, field=None)
            )
        if tick is not None:
            tick()
    return out


@dataclass(frozen=True)
class Entry:
    """One file (or registry prompt) compared with the registry."""

    slug: str
    path: str | None  # None: only in the registry
    status: Status
    fields: tuple[str, ...] = ()  # of a changed file: the prompt's own fields that differ
    promote: bool = False  # push --promote: its latest version is not active there yet

    def as_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "path": self.path,
            "status": self.status,
            "fields": list(self.fields),
        }


def head_of(file: PromptFile) -> dict[str, Any]:
    return {
        "slug": file.slug,
        "name": file.name,
        "description": file.description,
        "type": file.type,
    }


def _target(prompt: Mapping[str, Any], environment: str | None) -> tuple[str | None, int | None]:
    """(hash, version) a file is compared with: the latest version, or the one active in
    ``environment``."""
    if environment is None:
        return prompt.get("hash"), prompt.get("latest_version") or None
    active = (prompt.get("environments") or {}).get(environment)
    return (active["hash"], active["version"]) if active else (None, None)


def status_entries(
    files: Iterable[PromptFile], state: Mapping[str, Any], environment: str | None = None
) -> list[Entry]:
    """Each file: ``unchanged``, ``changed`` or ``new`` against the registry (its latest
    version, or the one active in ``environment``); then each registry prompt without a
    file (with ``environment``: only those with a version there) as ``only-in-registry``."""
    registry = {p["slug"]: p for p in state["prompts"]}
    entries: list[Entry] = []
    mine: set[str] = set()
    for f in files:
        mine.add(f.slug)
        prompt = registry.get(f.slug)
        if prompt is None:
            entries.append(Entry(f.slug, f.path, "new"))
            continue
        target, _ = _target(prompt, environment)
        differ = tuple(
            k
            for k, v in (("name", f.name), ("description", f.description), ("type", f.type))
            if prompt.get(k) != v
        )
        if target == f.hash and not differ:
            entries.append(Entry(f.slug, f.path, "unchanged"))
        else:
            entries.append(Entry(f.slug, f.path, "changed", differ))
    for slug, prompt in sorted(registry.items()):
        if slug not in mine and _target(prompt, environment)[0] is not None:
            entries.append(Entry(slug, None, "only-in-registry"))
    return entries


def push_plan(
    files: Iterable[PromptFile], state: Mapping[str, Any], promote: str | None
) -> list[Entry]:
    """The files a push sends: new and changed ones, and with ``promote`` the unchanged
    ones whose latest version is not active there yet."""
    registry = {p["slug"]: p for p in state["prompts"]}
    plan = []
    for entry in status_entries(files, state):
        if entry.path is None:
            continue
        needs_promote = False
        if promote is not None:
            prompt = registry.get(entry.slug)
            active = (prompt or {}).get("environments", {}).get(promote) if prompt else None
            needs_promote = (
                entry.status != "unchanged"
                or active is None
                or active["version"] != (prompt or {}).get("latest_version")
            )
        plan.append(
            Entry(entry.slug, entry.path, entry.status, entry.fields, promote=needs_promote)
        )
    return plan


def push_body(
    files: Iterable[PromptFile],
    *,
    git: Callable[[str], dict[str, Any] | None] | None,
    promote: str | None,
    message: str | None,
    dry_run: bool,
) -> dict[str, Any]:
    """The body of ``POST /v1/sync``; ``git(path)`` gives a file's ``metadata.git`` origin
    (None outside a git work tree)."""
    out = []
    for f in files:
        content = dict(f.content)
        origin = git(f.path) if git is not None and f.type != "agent" else None
        if origin is not None:  # (an agent's version has no metadata to record it in)
            content["metadata"] = {**content.get("metadata", {}), "git": origin}
        out.append({**head_of(f), **content})
    body: dict[str, Any] = {"files": out, "dry_run": dry_run}
    if promote is not None:
        body["promote"] = promote
    if message is not None:
        body["commit_message"] = message
    return body


def diff_summary(
    file: PromptFile, prompt: Mapping[str, Any], version: Mapping[str, Any]
) -> dict[str, Any]:
    """How ``file`` differs from the registry's ``version``: the fields, and the lines
    added and removed between the two canonical files."""
    mine = file_data(head_of(file), file.content)
    theirs = file_data(prompt, version)
    fields = [k for k in FILE_FIELDS if k != "slug" and not json_equal(mine.get(k), theirs.get(k))]
    lines = difflib.unified_diff(
        prompt_file_text(prompt, version).splitlines(),
        prompt_file_text(head_of(file), file.content).splitlines(),
        lineterm="",
        n=0,
    )
    added = removed = 0
    for line in lines:
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return {"fields": fields, "added": added, "removed": removed}


def same_content(file: PromptFile, prompt: Mapping[str, Any], version: Mapping[str, Any]) -> bool:
    """The file holds what the registry's ``version`` of ``prompt`` holds (however laid out)."""
    mine = file_data(head_of(file), file.content)
    theirs = file_data(prompt, version)
    return all(json_equal(mine.get(k), theirs.get(k)) for k in FILE_FIELDS)


def target_path(folder: Path, slug: str, existing: Mapping[str, Path]) -> Path:
    """Where a pull writes ``slug``: the file that holds it already, else ``<dir>/<slug>.yaml``
    (``prompts/<slug>.yaml`` with the default directory)."""
    if slug in existing:
        return existing[slug]
    return folder / Path(default_path(slug)).name


def write_if_changed(path: Path, text: str) -> bool:
    """Write ``text`` to ``path`` unless it holds exactly that already (then the file is not
    touched: its modification time stays); atomically (a temporary file renamed)."""
    data = text.encode("utf-8")
    mode = 0o644
    try:
        if path.read_bytes() == data:
            return False
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode)  # mkstemp makes it 0600; a repository's files are readable
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return True
