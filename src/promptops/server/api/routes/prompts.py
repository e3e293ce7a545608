"""/v1/prompts: prompts, their versions, and the documented face of the active read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import AfterValidator

from promptops.contract.catalog import (
    PromptCreate,
    PromptList,
    PromptOut,
    PromptUpdate,
    VersionList,
)
from promptops.contract.content import VersionCreate
from promptops.contract.errors import ErrorBody
from promptops.contract.fields import Environment
from promptops.contract.prompts import ActivePromptOut, VersionCreated, VersionOut
from promptops.contract.snippets import DependentList
from promptops.db.models import Prompt
from promptops.db.session import Session
from promptops.domain import deployments, prompts, snippets, versions
from promptops.domain.payloads import resolved_out, version_out
from promptops.server.api.deps import ActorDep, Limit, ReadSession, StateDep, no_nul, own_project
from promptops.server.hotpath import not_modified

router = APIRouter(prefix="/v1/prompts", tags=["prompts"])

VersionNumber = Annotated[int, Path(ge=1, le=2_147_483_647)]


def _prompt_out(session: Session, prompt: Prompt) -> PromptOut:
    return _prompts_out(session, [prompt])[0]


def _prompts_out(session: Session, rows: list[Prompt]) -> list[PromptOut]:
    active = deployments.active_versions_of(session, [p.id for p in rows])
    return [
        PromptOut.model_validate(p).model_copy(update={"deployments": active[p.id]}) for p in rows
    ]


@router.post("", status_code=201, response_model=PromptOut)
def create_prompt(body: PromptCreate, actor: ActorDep, st: StateDep) -> PromptOut:
    with st.db.write() as session:
        prompt = prompts.create_prompt(
            session,
            actor,
            slug=body.slug,
            name=body.name,
            description=body.description,
            type=body.type,
        )
        return _prompt_out(session, prompt)


@router.get("", response_model=PromptList)
def list_prompts(
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 50,
    cursor: Annotated[
        str | None, Query(max_length=100, description="next_cursor"), AfterValidator(no_nul)
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Search slug/name"), AfterValidator(no_nul)
    ] = None,
) -> PromptList:
    rows = prompts.list_prompts(session, own_project(actor), limit=limit, after=cursor, search=q)
    return PromptList(
        data=_prompts_out(session, rows),
        next_cursor=rows[-1].slug if len(rows) == limit else None,
    )


@router.get("/{slug}", response_model=PromptOut)
def get_prompt(slug: str, actor: ActorDep, session: ReadSession) -> PromptOut:
    return _prompt_out(
        session, prompts.get_prompt(session, own_project(actor), slug, kind="prompt")
    )


@router.patch("/{slug}", response_model=PromptOut)
def update_prompt(slug: str, body: PromptUpdate, actor: ActorDep, st: StateDep) -> PromptOut:
    with st.db.write() as session:
        prompt = prompts.update_prompt(
            session, actor, slug, fields=body.model_dump(exclude_unset=True)
        )
        return _prompt_out(session, prompt)


@router.post(
    "/{slug}/versions",
    status_code=201,
    response_model=VersionCreated,
    responses={200: {"model": VersionCreated, "description": "identical to the dev version"}},
)
def create_version(
    slug: str, body: VersionCreate, actor: ActorDep, st: StateDep, response: Response
) -> VersionCreated:
    """Create the next version; it becomes active in `dev` at once. Content identical to
    the version active in `dev` creates nothing: `200` with that version and
    `created: false`, so pushing the same file twice is idempotent."""
    with st.db.write() as session:
        pushed = versions.push_body(session, actor, slug, body)
        prompt = prompts.get_prompt(session, own_project(actor), slug, kind="prompt")
        if not pushed.created:
            response.status_code = 200
        out = version_out(prompt, pushed.version)
        return VersionCreated(**out.model_dump(), created=pushed.created)


@router.get("/{slug}/versions", response_model=VersionList)
def list_versions(
    slug: str,
    actor: ActorDep,
    session: ReadSession,
    limit: Limit = 50,
    cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> VersionList:
    prompt = prompts.get_prompt(session, own_project(actor), slug, kind="prompt")
    rows = versions.list_versions(session, prompt, limit=limit, before=cursor)
    return VersionList(
        data=[version_out(prompt, v) for v in rows],
        next_cursor=rows[-1].version if len(rows) == limit and rows[-1].version > 1 else None,
    )


@router.get(
    "/{slug}/versions/{number}",
    response_model=VersionOut,
    responses={409: {"model": ErrorBody, "description": "its snippets do not resolve there"}},
)
def get_version(
    slug: str,
    number: VersionNumber,
    actor: ActorDep,
    session: ReadSession,
    resolve: Annotated[
        Environment | None,
        Query(description="Resolve its snippets as active in this environment"),
    ] = None,
) -> VersionOut:
    """The version as written (`snippets`: its `{{> slug}}` references, `version` null
    when unpinned), or with `?resolve=<environment>` as that environment would serve it
    (`snippets`: the versions used)."""
    prompt = prompts.get_prompt(session, own_project(actor), slug, kind="prompt")
    version = versions.get_version(session, prompt, number)
    if resolve is None:
        return version_out(prompt, version)
    try:
        return resolved_out(session, prompt, version, resolve)
    except snippets.SnippetError as exc:
        raise snippets.unservable(prompt, resolve, exc) from exc


@router.get("/{slug}/dependents", response_model=DependentList)
def get_dependents(slug: str, actor: ActorDep, session: ReadSession) -> DependentList:
    """The prompts whose versions include this one (`{{> slug}}` or `{{> slug@3}}`)."""
    prompt = prompts.get_prompt(session, own_project(actor), slug, kind="prompt")
    return DependentList.model_validate({"data": snippets.direct_dependents(session, prompt)})


@router.get(
    "/{slug}/active",
    response_model=ActivePromptOut,
    responses={
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
        401: {"model": ErrorBody},
        403: {"model": ErrorBody},
        404: {"model": ErrorBody},
    },
)
async def get_active(slug: str, request: Request, _: ActorDep) -> Response:
    """The version active in the key's environment, with an `ETag`; send it back in
    `If-None-Match` to get 304. Served from memory (see docs/architecture.md)."""
    reply = await request.app.state.po.hotpath.resolve(request.headers.get("authorization"), slug)
    headers = {"Cache-Control": "no-cache"}
    headers.update((k.decode(), v.decode()) for k, v in reply.extra)
    if reply.etag is not None:
        headers["ETag"] = reply.etag.decode()
    inm = request.headers.get("if-none-match")
    if not_modified(reply, inm.encode("latin-1") if inm else None):
        return Response(status_code=304, headers=headers)
    return Response(
        reply.body, status_code=reply.status, headers=headers, media_type="application/json"
    )
