"""Write what a reader found into a PromptOps project, through the API, idempotently.

Each imported version records where it came from in ``metadata.imported`` (``from``,
``name``, ``version``, creation time, labels...). A second run reads those marks back from
the prompt's versions and creates only what is missing, so running twice imports nothing
new. Versions are created in the peer's order; labels then move environments
(``production``/``prod``, ``staging``, ``dev``; Langfuse's ``latest`` is dev when no dev
label exists). A version that cannot be mapped is reported and skipped; the rest goes on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from promptops.cli.common import q
from promptops.cli.http import ApiCaller, CliError
from promptops.cli.importers.source import SourcePrompt, environment_for, slug_for

__all__ = ["PromptReport", "import_prompts"]


@dataclass
class PromptReport:
    name: str
    slug: str
    created_prompt: bool = False
    created: dict[int, int | None] = field(default_factory=dict)  # peer -> ours (None: dry run)
    already: int = 0  # versions imported by an earlier run
    promoted: dict[str, int | None] = field(default_factory=dict)  # environment -> ours
    notes: list[str] = field(default_factory=list)  # kept in metadata, not mapped to a field
    problems: list[str] = field(default_factory=list)  # what was not imported, and why

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "slug": self.slug,
            "created_prompt": self.created_prompt,
            "versions_created": [{"from": k, "version": v} for k, v in self.created.items()],
            "versions_already_imported": self.already,
            "promoted": self.promoted,
            "notes": self.notes,
            "problems": self.problems,
        }


def _imported_marks(
    api: ApiCaller, slug: str, source: str, name: str
) -> tuple[dict[int, int], int]:
    """Peer version -> PromptOps version for what earlier runs imported; and how many
    versions the prompt holds in all."""
    marks: dict[int, int] = {}
    total = 0
    cursor: int | None = None
    while True:
        params: dict[str, Any] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = api.call("GET", f"/v1/prompts/{q(slug)}/versions")
        for version in page["data"]:
            total += 1
            mark = (version.get("metadata") or {}).get("imported") or {}
            ours = mark.get("from") == source and mark.get("name") == name
            if ours and isinstance(mark.get("version"), int):
                marks[mark["version"]] = version["version"]
        cursor = page.get("next_cursor")
        if not cursor:
            return marks, total


def import_prompts(
    api: ApiCaller,
    source: str,
    prompts: Iterable[SourcePrompt],
    *,
    dry_run: bool = False,
    default_model: str = "gpt-4o-mini",
    on_prompt: Callable[[PromptReport], None] | None = None,
) -> list[PromptReport]:
    taken: set[str] = set()
    reports: list[PromptReport] = []
    for prompt in prompts:
        report = PromptReport(name=prompt.name, slug=slug_for(prompt.name, taken))
        reports.append(report)
        try:
            _import_one(api, source, prompt, report, dry_run, default_model)
        except CliError as exc:
            report.problems.append(str(exc))
        if on_prompt:
            on_prompt(report)
    return reports


def _import_one(
    api: ApiCaller,
    source: str,
    prompt: SourcePrompt,
    report: PromptReport,
    dry_run: bool,
    default_model: str,
) -> None:
    slug = report.slug
    report.problems.extend(prompt.problems)
    try:
        existing = api.call("GET", f"/v1/prompts/{q(slug)}")
    except CliError as exc:
        if exc.status != 404:
            raise
        existing = None
    marks: dict[int, int] = {}
    if existing is not None:
        if existing.get("type") != prompt.type:
            report.problems.append(
                f"a {existing.get('type')} prompt {slug!r} exists; this one is {prompt.type}"
            )
            return
        marks, total = _imported_marks(api, slug, source, prompt.name)
        if total and not marks:
            report.problems.append(
                f"a prompt {slug!r} exists that was not imported from {source} {prompt.name!r}:"
                " left alone"
            )
            return
    elif not dry_run:
        body = {"slug": slug, "name": prompt.name[:200] or slug, "type": prompt.type}
        if prompt.description:
            body["description"] = prompt.description
        api.call("POST", "/v1/prompts", json=body)
        report.created_prompt = True
    else:
        report.created_prompt = True
    mapping: dict[int, int | None] = dict(marks)
    for version in prompt.versions:
        if version.number in marks:
            report.already += 1
            continue
        if version.body is None:
            report.problems.extend(f"version {version.number}: {p}" for p in version.problems)
            continue
        report.notes.extend(f"version {version.number}: {n}" for n in version.notes)
        body = dict(version.body)
        if not body.get("model"):
            body["model"] = default_model
            report.notes.append(f"version {version.number}: no model; {default_model} used")
        if dry_run:
            mapping[version.number] = report.created[version.number] = None
            continue
        try:
            made = api.call("POST", f"/v1/prompts/{q(slug)}/versions", json=body)
        except CliError as exc:
            report.problems.append(f"version {version.number}: {exc}")
            continue
        mapping[version.number] = report.created[version.number] = int(made["version"])
    _move_labels(api, prompt, report, mapping, dry_run)


def _move_labels(
    api: ApiCaller,
    prompt: SourcePrompt,
    report: PromptReport,
    mapping: dict[int, int | None],
    dry_run: bool,
) -> None:
    has_dev = any(
        environment_for(label, latest_is_dev=False) == "dev"
        for version in prompt.versions
        for label in version.labels
    )
    wanted: dict[str, int | None] = {}
    for version in prompt.versions:
        for label in version.labels:
            environment = environment_for(label, latest_is_dev=not has_dev)
            if environment is None:
                continue
            if version.number not in mapping:
                report.problems.append(
                    f"label {label!r} is on version {version.number}, which was not imported:"
                    f" {environment} not moved"
                )
                continue
            wanted[environment] = mapping[version.number]
    if not wanted:
        return
    if dry_run:
        report.promoted.update(wanted)
        return
    active = api.call("GET", f"/v1/prompts/{q(report.slug)}/deployments")
    for environment, number in sorted(wanted.items()):
        now = (active["environments"].get(environment) or {}).get("version")
        if now == number:
            continue
        try:
            moved = api.call(
                "POST",
                f"/v1/prompts/{q(report.slug)}/deployments/{environment}",
                json={"version": number, "comment": f"imported from {report.name}"[:500]},
            )
        except CliError as exc:
            report.problems.append(f"{environment} not moved to version {number}: {exc}")
            continue
        if moved and moved.get("status") == "pending":
            report.notes.append(
                f"{environment} is protected: change request {moved.get('id')} waits for approval"
            )
        else:
            report.promoted[environment] = number
