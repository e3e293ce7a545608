"""What the bridge writes for people: the commit's author and message (with the trailer
naming the version), and the pull/merge request's title and body (a link to the version,
where it is active, and the diff of the file)."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from promptops.gitops.bridge.repo import Identity

__all__ = [
    "MAX_DIFF_CHARS",
    "TRAILER",
    "branch_name",
    "commit_message",
    "file_diff",
    "git_author",
    "review_body",
    "review_title",
    "version_ref",
]

TRAILER = "PromptOps-Version"
MAX_DIFF_CHARS = 50_000  # GitHub refuses a body over 65,536 characters
_NAME_AND_EMAIL = re.compile(r"^(.*?)\s*<([^<>\s]+@[^<>\s]+)>$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+$")
_UNSAFE = re.compile(r"[<>\n\r\x00]")


def version_ref(slug: str, number: int) -> str:
    return f"{slug}@{number}"


def branch_name(slug: str, number: int) -> str:
    return f"promptops/{slug}-v{number}"


def git_author(author: str | None, fallback: Identity) -> Identity:
    """The git author of a version whose ``author`` is ``user:<email>`` (a dashboard user),
    an email, ``Name <email>``, or a label (a key prefix, ``admin``): that label as the name
    with ``fallback``'s email."""
    text = re.sub(r"[\n\r\x00]", "", (author or "").strip().removeprefix("user:")).strip()
    match = _NAME_AND_EMAIL.match(text)
    if match:
        email = match.group(2)
        return Identity(_UNSAFE.sub("", match.group(1)).strip() or email.split("@")[0], email)
    text = _UNSAFE.sub("", text).strip()
    if not text:
        return fallback
    if _EMAIL.match(text):
        return Identity(text.split("@")[0], text)
    return Identity(text, fallback.email)


def commit_message(slug: str, version: Mapping[str, Any]) -> str:
    """The version's commit message (or a line saying what it is) and the trailer
    ``PromptOps-Version: <slug>@<n>`` in a paragraph of its own."""
    number = int(version["version"])
    said = (version.get("commit_message") or "").strip()
    text = said or f"{slug}: version {number} from PromptOps"
    return f"{text}\n\n{TRAILER}: {version_ref(slug, number)}\n"


def review_title(slug: str, version: Mapping[str, Any]) -> str:
    subject = (version.get("commit_message") or "").strip().splitlines()
    title = f"PromptOps: {slug} v{version['version']}"
    return (title + (f": {subject[0]}" if subject else ""))[:250]


def file_diff(path: str, before: str | None, after: str) -> str:
    lines = difflib.unified_diff(
        (before or "").splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=f"a/{path}" if before is not None else "/dev/null",
        tofile=f"b/{path}",
    )
    out = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    if len(out) > MAX_DIFF_CHARS:
        cut = out[:MAX_DIFF_CHARS].rsplit("\n", 1)[0]
        out = f"{cut}\n... (cut at {MAX_DIFF_CHARS} characters: see the files changed)\n"
    return out


def _fence(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def review_body(
    *,
    slug: str,
    version: Mapping[str, Any],
    prompt: Mapping[str, Any],
    project_id: str,
    dashboard_url: str,
    path: str,
    diff: str,
) -> str:
    number = int(version["version"])
    page = f"{dashboard_url}/p/{quote(project_id, safe='')}/prompts/{quote(slug, safe='')}"
    lines = [f"PromptOps version [{slug} v{number}]({page}/versions/{number})"]
    if number > 1:
        lines[0] += f" ([compare with v{number - 1}]({page}/diff?a={number - 1}&b={number}))"
    lines[0] += f" by {version.get('author') or 'unknown'}."
    said = (version.get("commit_message") or "").strip()
    if said:
        lines += ["", "> " + "\n> ".join(said.splitlines())]
    active = sorted(env for env, n in (prompt.get("deployments") or {}).items() if n == number)
    lines += [
        "",
        f"Active in: {', '.join(active)}." if active else "Not active in any environment yet.",
        "",
        f"It writes `{path}` as `promptops sync pull` would write this version.",
        "",
    ]
    fence = _fence(diff)
    lines += [f"{fence}diff", diff.rstrip("\n"), fence, ""]
    lines.append(f"<!-- {TRAILER}: {version_ref(slug, number)} -->")
    return "\n".join(lines) + "\n"
