"""GitOps sync: the state a push compares against, the files a pull writes, and the push
itself, applied in the caller's one transaction (all files or none).

A file's content is compared with its prompt's latest version by content hash
(:func:`promptops.contract.gitops.content_hash`, ``metadata.git`` left out), so pushing the
same files twice, from any commit, creates nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from promptops.contract.content import VersionCreate, stored_content
from promptops.contract.gitops import CONTENT_COLUMNS, AgentFileIn, PromptFileIn, content_hash
from promptops.contract.sync import (
    ActiveHash,
    PromptHead,
    PromptState,
    SyncFile,
    SyncFiles,
    SyncPush,
    SyncPushed,
    SyncResult,
    SyncState,
)
from promptops.contract.validation import parse
from promptops.db.models import ActiveDeployment, Deployment, Prompt, PromptVersion
from promptops.domain import deployments, prompts, protection, versions
from promptops.domain.access import ENVIRONMENTS, Actor
from promptops.domain.errors import ConflictError, DomainError, InvalidInputError
from promptops.domain.payloads import version_out
from promptops.templating import compile_template

__all__ = ["export_files", "push", "state", "version_hash"]


def version_hash(version: PromptVersion) -> str:
    columns = {column: getattr(version, column) for column in CONTENT_COLUMNS}
    return content_hash({**columns, "definition": version.definition})


def _prompts(session: Session, project_id: str) -> list[Prompt]:
    query = select(Prompt).where(Prompt.project_id == project_id).order_by(Prompt.slug)
    return list(session.scalars(query))


def _latest(session: Session, project_id: str) -> dict[int, PromptVersion]:
    query = (
        select(PromptVersion)
        .join(
            Prompt,
            and_(
                Prompt.id == PromptVersion.prompt_id, Prompt.latest_version == PromptVersion.version
            ),
        )
        .where(Prompt.project_id == project_id)
    )
    return {v.prompt_id: v for v in session.scalars(query)}


def _active(session: Session, project_id: str) -> list[ActiveDeployment]:
    query = (
        select(ActiveDeployment)
        .join(Prompt, Prompt.id == ActiveDeployment.prompt_id)
        .where(Prompt.project_id == project_id)
    )
    return list(session.scalars(query))


def _rows(session: Session, ids: Iterable[int]) -> dict[int, PromptVersion]:
    wanted = sorted(set(ids))
    found: dict[int, PromptVersion] = {}
    for start in range(0, len(wanted), 500):  # bounded IN lists
        chunk = wanted[start : start + 500]
        found.update(
            (v.id, v)
            for v in session.scalars(select(PromptVersion).where(PromptVersion.id.in_(chunk)))
        )
    return found


def state(session: Session, project_id: str) -> SyncState:
    """Every prompt with the hash of its latest version and of each environment's active
    version: four queries whatever the number of prompts."""
    rows = _prompts(session, project_id)
    latest = _latest(session, project_id)
    active = _active(session, project_id)
    by_id = {v.id: v for v in latest.values()}
    by_id.update(_rows(session, (a.version_id for a in active if a.version_id not in by_id)))
    hashes = {vid: version_hash(v) for vid, v in by_id.items()}
    envs: dict[int, dict[str, ActiveHash | None]] = {
        p.id: dict.fromkeys(ENVIRONMENTS, None) for p in rows
    }
    for a in active:
        envs[a.prompt_id][a.environment] = ActiveHash(version=a.version, hash=hashes[a.version_id])
    out = []
    for p in rows:
        top = latest.get(p.id)
        out.append(
            PromptState(
                slug=p.slug,
                type=p.type,
                name=p.name,
                description=p.description,
                latest_version=p.latest_version,
                hash=hashes[top.id] if top is not None else None,
                environments=envs[p.id],
            )
        )
    return SyncState(prompts=out)


def export_files(session: Session, project_id: str, environment: str | None) -> SyncFiles:
    """Each prompt with its latest version, or (``environment``) the version active there;
    prompts with none are left out."""
    rows = _prompts(session, project_id)
    if environment is None:
        chosen = _latest(session, project_id)
    else:
        active = [a for a in _active(session, project_id) if a.environment == environment]
        found = _rows(session, (a.version_id for a in active))
        chosen = {a.prompt_id: found[a.version_id] for a in active}
    files = [
        SyncFile(
            prompt=PromptHead(slug=p.slug, type=p.type, name=p.name, description=p.description),
            version=version_out(p, chosen[p.id]),
            definition=chosen[p.id].definition if p.type == "agent" else None,
        )
        for p in rows
        if p.id in chosen
    ]
    return SyncFiles(environment=environment, files=files)


def _includes(file: PromptFileIn | AgentFileIn) -> set[str]:
    if isinstance(file, AgentFileIn):
        return set()
    sources = [file.text] if file.text is not None else []
    sources += [m.content for m in file.messages or () if hasattr(m, "content")]
    return {partial.slug for source in sources for partial in compile_template(source).partials}


def _order(files: list[PromptFileIn | AgentFileIn]) -> list[int]:
    """Indexes of ``files``, each snippet before the prompts that include it (so a set of
    prompts and their snippets checks and deploys in one pass)."""
    index = {f.slug: i for i, f in enumerate(files)}
    done: list[int] = []
    state_of: dict[int, int] = {}  # 1: visiting, 2: done

    def visit(i: int) -> None:
        if state_of.get(i):
            return  # done, or a cycle (the templates' own check names it)
        state_of[i] = 1
        for slug in sorted(_includes(files[i])):
            if slug in index:
                visit(index[slug])
        state_of[i] = 2
        done.append(i)

    for i in range(len(files)):
        visit(i)
    return done


def _where(exc: DomainError, i: int, slug: str) -> DomainError:
    """``exc`` naming the file it is about: ``files.<i>.<field>``."""
    exc.field = f"files.{i}.{exc.field}" if exc.field else f"files.{i}"
    exc.message = f"files.{i} ({slug}): {exc.message}"
    exc.args = (exc.message,)
    return exc


def _check_promote(session: Session, actor: Actor, project_id: str, environment: str) -> None:
    actor.require_environment(environment)
    if protection.is_protected(session, project_id, environment) and (
        not actor.can_bypass_protection
    ):
        raise ConflictError(
            f"environment {environment!r} is protected: a promotion there needs an approval;"
            f" push without promote, then request it (promptops promote SLUG --to {environment}"
            " --version N) for an admin to approve",
            field="promote",
        )


def push(session: Session, actor: Actor, body: SyncPush) -> SyncPushed:
    """Apply ``body.files`` (in the caller's transaction: an error anywhere leaves nothing
    stored): create missing prompts, update changed names and descriptions, make a version
    for each file whose content differs from its prompt's latest version, and with
    ``promote`` make each file's latest version active there."""
    actor.require_write()
    project_id = actor.project_for(None)
    if body.promote is not None:
        _check_promote(session, actor, project_id, body.promote)
    seen: dict[str, int] = {}
    for i, file in enumerate(body.files):
        if file.slug in seen:
            raise InvalidInputError(
                f"files.{i}.slug: {file.slug!r} is also files.{seen[file.slug]}",
                field=f"files.{i}.slug",
            )
        seen[file.slug] = i
    results: dict[int, SyncResult] = {}
    for i in _order(body.files):
        try:
            results[i] = _apply(session, actor, project_id, body, body.files[i])
        except DomainError as exc:
            raise _where(exc, i, body.files[i].slug) from exc
    ordered = [results[i] for i in range(len(body.files))]
    return SyncPushed(
        dry_run=body.dry_run,
        promote=body.promote,
        results=ordered,
        created_versions=sum(r.version_created for r in ordered),
        created_prompts=sum(r.prompt == "created" for r in ordered),
        promoted=sum(r.promoted for r in ordered),
    )


def _apply(
    session: Session,
    actor: Actor,
    project_id: str,
    body: SyncPush,
    file: PromptFileIn | AgentFileIn,
) -> SyncResult:
    prompt = session.scalar(
        select(Prompt)
        .where(Prompt.project_id == project_id, Prompt.slug == file.slug)
        .with_for_update()
    )
    outcome: Any = "unchanged"
    if prompt is None:
        prompt = prompts.create_prompt(
            session,
            actor,
            slug=file.slug,
            name=file.name,
            description=file.description,
            type=file.prompt_type,
        )
        outcome = "created"
    else:
        if prompt.type != file.prompt_type:
            raise InvalidInputError(
                f"type: {file.slug!r} is a {prompt.type} prompt in the registry, the file says"
                f" {file.prompt_type} (a prompt's type is fixed)",
                field="type",
            )
        fields = {
            k: v
            for k, v in (("name", file.name), ("description", file.description))
            if getattr(prompt, k) != v
        }
        if fields:
            prompts.update_prompt(session, actor, file.slug, fields=fields)
            outcome = "updated"
    latest = (
        versions.get_version(session, prompt, prompt.latest_version)
        if prompt.latest_version
        else None
    )
    version = latest
    if isinstance(file, AgentFileIn):
        stored = file.stored()
        if latest is None or version_hash(latest) != content_hash(stored):
            version = versions.create_stored(
                session, actor, prompt, stored, body.commit_message, None
            )
    elif latest is None or version_hash(latest) != content_hash(stored_content(file)):
        content = file.content()
        if body.commit_message is not None:
            content["commit_message"] = body.commit_message
        version = versions.create_body(session, actor, file.slug, parse(VersionCreate, content))
    assert version is not None
    promoted = False
    if body.promote is not None:
        before = session.get(ActiveDeployment, (prompt.id, body.promote))
        if before is None or before.version != version.version:
            row = deployments.promote(
                session, actor, file.slug, body.promote, version=version.version
            )
            if not isinstance(row, Deployment):  # protected: refused above unless bypassing
                raise ConflictError(f"{body.promote!r} needs an approval", field="promote")
            promoted = True
    return SyncResult(
        slug=file.slug,
        prompt=outcome,
        version=version.version,
        version_created=version is not latest,
        promoted=promoted,
    )
