"""Snippets: text prompts included in other prompts' templates.

``{{> slug}}`` includes the text prompt ``slug`` as active in the same environment;
``{{> slug@3}}`` pins its version 3. What is served (``/active``, the stream, webhooks,
``GET .../versions/{n}?resolve=<environment>``) is the template with each tag replaced by
the snippet's text, recursively (:func:`promptops.templating.expand`), and the ``snippets``
actually used; a version read as written lists its references (version null when unpinned).

Rules, checked the same way wherever a version is resolved in an environment:

- the slug names a prompt of the project, of type ``text``; a pinned version exists; an
  unpinned snippet has a version active in that environment;
- no cycle: a prompt never includes itself, at any depth and through any version
  (``a -> b -> a``, also ``a -> b@1 -> a``);
- at most :data:`MAX_DEPTH` snippets deep below the prompt.

A new version is checked at creation in ``dev`` (where it goes): its unpinned snippets as
active in dev, every pinned one as pinned, and so on down each chain (422 naming the field
and the chain). Promoting (or rolling back, or approving) a version into an environment
checks it there (409 naming the snippet). When a snippet's label moves in an environment,
every prompt whose active version there reaches it through an unpinned tag (at any depth)
is a dependent (:func:`dependents_in`): its served content changes. A dependent that would
no longer resolve refuses the move (409).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promptops.contract.content import templates_of
from promptops.db.models import ActiveDeployment, Prompt, PromptVersion, VersionSnippet
from promptops.domain.errors import ConflictError, InvalidInputError
from promptops.errors import TemplateError
from promptops.templating import SpliceError, compile_template, expand

__all__ = [
    "MAX_DEPTH",
    "Dependent",
    "Resolved",
    "SnippetError",
    "check_deployable",
    "check_new",
    "dependents_in",
    "direct_dependents",
    "has_partials",
    "references",
    "resolve",
    "unservable",
]

MAX_DEPTH = 5  # snippets below the prompt, at most
_MAX_VISITS = 500  # inclusions walked for one prompt (a wide diamond cannot explode)


class SnippetError(Exception):
    """A reference that cannot be resolved; ``chain`` is the path of slugs/keys from the
    prompt to it, ``snippet`` the slug at fault. Callers turn it into a 422 or a 409."""

    def __init__(self, problem: str, chain: tuple[str, ...], snippet: str) -> None:
        self.problem = problem
        self.chain = chain
        self.snippet = snippet
        super().__init__(f"{problem} ({' -> '.join(chain)})")

    @property
    def slugs(self) -> set[str]:
        return {key.partition("@")[0] for key in self.chain}


@dataclass(frozen=True, slots=True)
class Resolved:
    """A version's content as served in an environment."""

    messages: list[dict[str, Any]] | None
    text: str | None
    snippets: list[dict[str, Any]]  # [{"slug", "version"}] used, in order of first use
    unpinned: frozenset[str]  # slugs taken as active in the environment, at any depth


def _stored(version: PromptVersion) -> dict[str, Any]:
    return {"messages": version.messages, "text": version.text}


def has_partials(stored: Mapping[str, Any]) -> bool:
    return any(compile_template(t).partials for _, t in templates_of(dict(stored)))


def references(stored: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The ``{{> ...}}`` tags as written, each once, in order: ``[{"slug", "version"}]``
    (``version`` null when unpinned)."""
    refs: dict[tuple[str, int | None], None] = {}
    for _, source in templates_of(dict(stored)):
        for partial in compile_template(source).partials:
            refs.setdefault((partial.slug, partial.version), None)
    return [{"slug": slug, "version": version} for slug, version in refs]


class _Walk:
    """One resolution of one prompt in one environment: the partials' texts by key."""

    def __init__(self, session: Session, project_id: str, environment: str) -> None:
        self.session = session
        self.project_id = project_id
        self.environment = environment
        self.partials: dict[str, str] = {}
        self.used: dict[tuple[str, int], None] = {}
        self.unpinned: set[str] = set()
        self._versions: dict[str, PromptVersion] = {}
        self._visits = 0

    def _version(self, slug: str, pinned: int | None, chain: tuple[str, ...]) -> PromptVersion:
        key = slug if pinned is None else f"{slug}@{pinned}"
        found = self._versions.get(key)
        if found is not None:
            return found
        prompt = self.session.scalar(
            select(Prompt).where(Prompt.project_id == self.project_id, Prompt.slug == slug)
        )
        if prompt is None:
            raise SnippetError(f"no prompt {slug!r} to include", chain, slug)
        if prompt.type != "text":
            raise SnippetError(
                f"{slug!r} is a chat prompt; only text prompts can be included", chain, slug
            )
        if pinned is not None:
            version = self.session.scalar(
                select(PromptVersion).where(
                    PromptVersion.prompt_id == prompt.id, PromptVersion.version == pinned
                )
            )
            if version is None:
                raise SnippetError(f"snippet {slug!r} has no version {pinned}", chain, slug)
        else:
            active = self.session.get(ActiveDeployment, (prompt.id, self.environment))
            version = self.session.get(PromptVersion, active.version_id) if active else None
            if version is None:
                raise SnippetError(
                    f"snippet {slug!r} has no version active in {self.environment!r}",
                    chain,
                    slug,
                )
        self._versions[key] = version
        return version

    def visit(self, source: str, chain: tuple[str, ...]) -> None:
        for partial in compile_template(source).partials:
            path = (*chain, partial.key)
            if partial.slug in {key.partition("@")[0] for key in chain}:
                raise SnippetError("a prompt cannot include itself", path, partial.slug)
            if len(path) - 1 > MAX_DEPTH:
                raise SnippetError(
                    f"snippets are nested more than {MAX_DEPTH} deep", path, partial.slug
                )
            self._visits += 1
            if self._visits > _MAX_VISITS:
                raise SnippetError(
                    f"more than {_MAX_VISITS} inclusions to resolve", path, partial.slug
                )
            version = self._version(partial.slug, partial.version, path)
            self.used.setdefault((partial.slug, version.version), None)
            if partial.version is None:
                self.unpinned.add(partial.slug)
            assert version.text is not None  # a text prompt's version
            self.partials[partial.key] = version.text
            self.visit(version.text, path)


def _expand(source: str, walk: _Walk, root: str) -> str:
    try:
        return expand(source, walk.partials)
    except SpliceError as exc:
        raise SnippetError(str(exc), (root, exc.key), exc.key.partition("@")[0]) from exc
    except TemplateError as exc:
        raise SnippetError(str(exc), (root,), root) from exc


def resolve(session: Session, prompt: Prompt, version: PromptVersion, environment: str) -> Resolved:
    """``version`` of ``prompt`` as served in ``environment`` (raises :class:`SnippetError`)."""
    stored = _stored(version)
    if not has_partials(stored):
        return Resolved(version.messages, version.text, [], frozenset())
    walk = _Walk(session, prompt.project_id, environment)
    for _, source in templates_of(stored):
        walk.visit(source, (prompt.slug,))
    messages: list[dict[str, Any]] | None = None
    text: str | None = None
    if version.text is not None:
        text = _expand(version.text, walk, prompt.slug)
    else:
        messages = [
            {**m, "content": _expand(m["content"], walk, prompt.slug)} if "content" in m else m
            for m in version.messages or ()
        ]
    used = [{"slug": slug, "version": number} for slug, number in walk.used]
    return Resolved(messages, text, used, frozenset(walk.unpinned))


def check_new(session: Session, prompt: Prompt, stored: Mapping[str, Any]) -> None:
    """A new version's references, checked in ``dev`` where it goes: 422 naming the field
    (``text`` or ``messages.<i>.content``) and the chain."""
    for field, source in templates_of(dict(stored)):
        if not compile_template(source).partials:
            continue
        walk = _Walk(session, prompt.project_id, "dev")
        try:
            walk.visit(source, (prompt.slug,))
            _expand(source, walk, prompt.slug)
        except SnippetError as exc:
            raise InvalidInputError(str(exc), field=field) from exc


def check_deployable(
    session: Session, prompt: Prompt, version: PromptVersion, environment: str
) -> None:
    """409 naming the snippet when ``version`` cannot be served in ``environment``."""
    try:
        resolve(session, prompt, version, environment)
    except SnippetError as exc:
        raise ConflictError(
            f"prompt {prompt.slug!r} version {version.version} cannot be deployed to"
            f" {environment!r}: {exc}",
            field="version",
        ) from exc


def unservable(prompt: Prompt, environment: str, exc: SnippetError) -> ConflictError:
    """The error ``/active`` answers when the active version no longer resolves (data from
    before these checks, e.g. a snippet never promoted to that environment)."""
    return ConflictError(
        f"prompt {prompt.slug!r} cannot be served in {environment!r}: {exc}; promote the"
        f" snippet {exc.snippet!r} there, or deploy another version of {prompt.slug!r}"
    )


@dataclass(frozen=True, slots=True)
class Dependent:
    prompt: Prompt
    active: ActiveDeployment
    version: PromptVersion


def _referencing(session: Session, project_id: str, slugs: Iterable[str]) -> list[Prompt]:
    ids = select(VersionSnippet.prompt_id).where(
        VersionSnippet.project_id == project_id, VersionSnippet.snippet_slug.in_(list(slugs))
    )
    return list(session.scalars(select(Prompt).where(Prompt.id.in_(ids))))


def dependents_in(session: Session, snippet: Prompt, environment: str) -> list[Dependent]:
    """Prompts whose version active in ``environment`` takes ``snippet`` as active there
    (through an unpinned tag, at any depth), in slug order. Raises :class:`SnippetError`
    for a dependent that no longer resolves because of ``snippet``."""
    candidates: dict[str, Prompt] = {}
    frontier = {snippet.slug}
    for _ in range(MAX_DEPTH + 1):
        found = [
            p
            for p in _referencing(session, snippet.project_id, frontier)
            if p.slug not in candidates and p.id != snippet.id
        ]
        if not found:
            break
        candidates.update((p.slug, p) for p in found)
        frontier = {p.slug for p in found}
    out: list[Dependent] = []
    for slug in sorted(candidates):
        prompt = candidates[slug]
        active = session.get(ActiveDeployment, (prompt.id, environment))
        version = session.get(PromptVersion, active.version_id) if active else None
        if active is None or version is None:
            continue
        try:
            resolved = resolve(session, prompt, version, environment)
        except SnippetError as exc:
            if snippet.slug in exc.slugs:
                raise
            continue  # broken for another reason: not this move's doing
        if snippet.slug in resolved.unpinned:
            out.append(Dependent(prompt, active, version))
    return out


def direct_dependents(session: Session, snippet: Prompt) -> list[dict[str, Any]]:
    """The prompts whose versions include ``snippet``: for each, the versions that do (and
    the pin each uses), and per environment the active version when it includes it."""
    rows = session.execute(
        select(VersionSnippet, PromptVersion.version)
        .join(PromptVersion, PromptVersion.id == VersionSnippet.version_id)
        .where(
            VersionSnippet.project_id == snippet.project_id,
            VersionSnippet.snippet_slug == snippet.slug,
        )
        .order_by(PromptVersion.version.desc())
    ).all()
    by_prompt: dict[int, list[tuple[int, int | None, int]]] = {}
    for ref, number in rows:
        by_prompt.setdefault(ref.prompt_id, []).append((number, ref.pinned_version, ref.version_id))
    if not by_prompt:
        return []
    prompts = session.scalars(select(Prompt).where(Prompt.id.in_(list(by_prompt)))).all()
    actives = session.scalars(
        select(ActiveDeployment).where(ActiveDeployment.prompt_id.in_(list(by_prompt)))
    ).all()
    out = []
    for prompt in sorted(prompts, key=lambda p: p.slug):
        refs = by_prompt[prompt.id]
        including = {version_id for _, _, version_id in refs}
        environments = {
            a.environment: a.version
            for a in actives
            if a.prompt_id == prompt.id and a.version_id in including
        }
        out.append(
            {
                "slug": prompt.slug,
                "name": prompt.name,
                "versions": [{"version": n, "pinned_version": pin} for n, pin, _ in refs],
                "environments": environments,
            }
        )
    return out
