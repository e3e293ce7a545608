"""Eval results on versions, and the gate of environments that require them.

CI records results (:func:`record`): any write key of the project (an eval result says
something about a version, not about an environment), or a user with role editor or
higher; any key of the project reads them. Results are never updated: a new run records
a new result, and the latest result of each name is the one that counts.

An environment's ``required_evals`` (``[{"name", "min_score"}]``, set with its protection:
:mod:`promptops.domain.protection`) gate promotion there: :func:`unmet` names each
required eval whose latest result on the version is missing, failed, or scored below
``min_score``; :func:`require` refuses (409) with those names. A promotion that would deploy
at once is refused; one that opens a change request is not, but approving it is, until the
results pass. Rollbacks are not gated: they return to a version that was live.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from promptops.contract.evals import EvalCreate, EvalResultOut
from promptops.db.models import EvalResult, Prompt, PromptVersion
from promptops.domain import audit, changes
from promptops.domain.access import Actor
from promptops.domain.errors import ConflictError, NotFoundError
from promptops.domain.prompts import get_prompt

__all__ = [
    "Unmet",
    "latest_by_name",
    "list_results",
    "record",
    "require",
    "result_out",
    "results_of",
    "unmet",
    "version_of",
]


def record(
    session: Session, actor: Actor, slug: str, number: int, body: EvalCreate
) -> tuple[Prompt, EvalResult]:
    """Store one result on version ``number`` of ``slug`` and announce it
    (``eval_result_created``)."""
    actor.require_write()
    prompt = get_prompt(session, actor.project_for(None), slug)
    version = _version(session, prompt, number)
    row = EvalResult(
        project_id=prompt.project_id,
        prompt_id=prompt.id,
        version_id=version.id,
        version=version.version,
        name=body.name,
        score=body.score,
        passed=body.passed,
        threshold=body.threshold,
        details=body.details,
        url=body.url,
        ci_run_id=body.ci_run_id,
        commit=body.commit,
        created_by=actor.label,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        "eval_result.created",
        project_id=prompt.project_id,
        target_type="version",
        target=f"{prompt.slug}:{version.version}",
        after={"name": row.name, "score": row.score, "passed": row.passed},
    )
    changes.record(
        session,
        changes.Change(
            changes.ChangeKind.EVAL_RESULT_CREATED,
            prompt.project_id,
            slug=prompt.slug,
            version=version.version,
            actor=actor.label,
            data={"eval_result_id": row.id},
        ),
    )
    return prompt, row


def _version(session: Session, prompt: Prompt, number: int) -> PromptVersion:
    # versions.get_version's lookup; not imported: versions -> deployments -> protection
    # -> evals would be a cycle.
    version = session.scalar(
        select(PromptVersion).where(
            PromptVersion.prompt_id == prompt.id, PromptVersion.version == number
        )
    )
    if version is None:
        raise NotFoundError(f"prompt {prompt.slug!r} has no version {number}", field="version")
    return version


def version_of(session: Session, project_id: str, slug: str, number: int) -> PromptVersion:
    """Version ``number`` of ``slug`` (404 when the prompt or the version is missing)."""
    return _version(session, get_prompt(session, project_id, slug), number)


def result_out(slug: str, row: EvalResult) -> EvalResultOut:
    """The wire shape of a result (the API's and the ``eval_result_created`` event's)."""
    fields = {name: getattr(row, name) for name in EvalResultOut.model_fields if name != "slug"}
    return EvalResultOut.model_validate({**fields, "slug": slug})


def list_results(
    session: Session, version: PromptVersion, *, limit: int = 100, before_id: int | None = None
) -> list[EvalResult]:
    """The version's results, newest first."""
    query = (
        select(EvalResult)
        .where(EvalResult.version_id == version.id)
        .order_by(EvalResult.id.desc())
        .limit(limit)
    )
    if before_id is not None:
        query = query.where(EvalResult.id < before_id)
    return list(session.scalars(query))


def latest_by_name(session: Session, version_ids: Iterable[int]) -> dict[int, list[EvalResult]]:
    """For each version id, its latest result of each name (sorted by name), in one query."""
    ids = list(set(version_ids))
    out: dict[int, list[EvalResult]] = {i: [] for i in ids}
    if not ids:
        return out
    newest = (
        select(func.max(EvalResult.id))
        .where(EvalResult.version_id.in_(ids))
        .group_by(EvalResult.version_id, EvalResult.name)
    )
    rows = session.scalars(
        select(EvalResult).where(EvalResult.id.in_(newest)).order_by(EvalResult.name)
    )
    for row in rows:
        out[row.version_id].append(row)
    return out


def results_of(session: Session, version: PromptVersion) -> list[EvalResult]:
    return latest_by_name(session, [version.id])[version.id]


@dataclass(frozen=True)
class Unmet:
    """A required eval the version does not pass, and why."""

    name: str
    min_score: float
    latest: EvalResult | None

    def describe(self) -> str:
        need = f"needs passed and score >= {self.min_score:g}"
        if self.latest is None:
            return f"{self.name} (no result; {need})"
        verdict = "passed" if self.latest.passed else "failed"
        return f"{self.name} (latest: score {self.latest.score:g}, {verdict}; {need})"


def unmet(
    session: Session, version: PromptVersion, required: Sequence[Mapping[str, Any]]
) -> list[Unmet]:
    """The required evals whose latest result on ``version`` is missing or not passing."""
    if not required:
        return []
    latest = {r.name: r for r in results_of(session, version)}
    out = []
    for need in required:
        name, min_score = str(need["name"]), float(need["min_score"])
        found = latest.get(name)
        if found is None or not found.passed or found.score < min_score:
            out.append(Unmet(name, min_score, found))
    return out


def require(
    session: Session,
    prompt: Prompt,
    version: PromptVersion,
    environment: str,
    required: Sequence[Mapping[str, Any]],
) -> None:
    """Refuse (409, field ``required_evals``) unless ``version`` passes every required eval."""
    missing = unmet(session, version, required)
    if missing:
        raise ConflictError(
            f"{prompt.slug!r} v{version.version} cannot go to {environment!r}: it lacks a"
            f" passing result of {len(missing)} required eval(s): "
            + "; ".join(m.describe() for m in missing)
            + f" (record them: POST /v1/prompts/{prompt.slug}/versions/{version.version}/evals)",
            field="required_evals",
        )
