"""/compat/promptlayer: the endpoints the official ``promptlayer`` Python SDK calls.

Point the SDK at ``<server>/compat/promptlayer`` (``PromptLayer(base_url=...)`` or
``PROMPTLAYER_BASE_URL``) with a PromptOps project key as its API key. The key comes in the
``X-API-KEY`` header, or (for the calls where the SDK sends it there) the body's
``api_key``. Errors are PromptLayer's ``{"success": false, "message"}`` (server/errors.py);
anything else the SDK may call answers 404 in that shape, naming the endpoint.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request

from promptops.contract.compat.promptlayer import (
    CreateGroupBody,
    CreateGroupOut,
    ErrorOut,
    GetTemplateBody,
    LogRequestBody,
    PublishBody,
    PublishOut,
    TemplateList,
    TemplateOut,
    TrackGroupBody,
    TrackMetadataBody,
    TrackOut,
    TrackPromptBody,
    TrackRequestBody,
    TrackRequestOut,
    TrackScoreBody,
)
from promptops.domain import promptlayer
from promptops.domain.access import Actor
from promptops.domain.errors import AuthenticationError, NotFoundError
from promptops.server.api.deps import StateDep, state

PREFIX = "/compat/promptlayer"

router = APIRouter(
    prefix=PREFIX,
    tags=["compat-promptlayer"],
    include_in_schema=False,
    responses={400: {"model": ErrorOut}, 401: {"model": ErrorOut}, 403: {"model": ErrorOut}},
)

TemplateName = Annotated[str, Path(min_length=1, max_length=200)]


def _actor(request: Request, body_key: str | None = None) -> Actor:
    token = request.headers.get("x-api-key") or body_key
    if not token:
        raise AuthenticationError("missing API key: send the X-API-KEY header")
    return state(request).auth.authenticate(token)


@router.post("/prompt-templates/{name}", response_model=TemplateOut)
def get_template(name: TemplateName, body: GetTemplateBody, request: Request, st: StateDep) -> Any:
    """``templates.get(name, {"version": N} | {"label": "production"}, ...)``."""
    actor = _actor(request, body.api_key)
    with st.db.read() as session:
        return promptlayer.get_template(
            session,
            actor,
            name,
            version=body.version,
            label=body.label,
            input_variables=body.input_variables,
            provider=body.provider,
            model=body.model,
        )


@router.get("/prompt-templates", response_model=TemplateList)
def list_templates(
    request: Request,
    st: StateDep,
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    per_page: Annotated[int, Query(ge=1, le=100)] = 30,
    label: Annotated[str | None, Query(max_length=64)] = None,
) -> Any:
    """``templates.all(page, per_page, label)``."""
    actor = _actor(request)
    with st.db.read() as session:
        items, more = promptlayer.list_templates(
            session, actor, page=page, per_page=per_page, label=label
        )
    return TemplateList.model_validate(
        {"items": items, "page": page, "per_page": per_page, "has_next": more}
    )


@router.post("/rest/prompt-templates", status_code=201, response_model=PublishOut)
def publish(body: PublishBody, request: Request, st: StateDep) -> Any:
    """``templates.publish(...)``: a new version; ``release_labels`` are promoted to it."""
    actor = _actor(request, body.api_key)
    with st.db.write() as session:
        return promptlayer.publish(
            session, actor, body.prompt_template, body.prompt_version, body.release_labels
        )


@router.post("/track-request", response_model=TrackRequestOut)
def track_request(body: TrackRequestBody, request: Request, st: StateDep) -> Any:
    """What ``run()`` sends after calling the provider: a request log."""
    actor = _actor(request, body.api_key)
    fields = body.model_dump()
    with st.db.write() as session:
        request_id = promptlayer.track_request(session, actor, fields)
        blueprint = None
        if body.return_prompt_blueprint and body.prompt_id is not None:
            blueprint = _blueprint_of(session, actor, fields)
    return TrackRequestOut(request_id=request_id, prompt_blueprint=blueprint)


def _blueprint_of(session: Any, actor: Actor, fields: dict[str, Any]) -> dict[str, Any] | None:
    slug = promptlayer.slug_of_id(session, actor, fields["prompt_id"])
    try:
        return promptlayer.get_template(
            session, actor, slug, version=fields.get("prompt_version"), label=None
        )
    except NotFoundError:
        return None


@router.post("/log-request", status_code=201)
def log_request(body: LogRequestBody, request: Request, st: StateDep) -> Any:
    """``log_request(...)``: a call the application made itself."""
    actor = _actor(request, body.api_key)
    with st.db.write() as session:
        request_id = promptlayer.log_request(session, actor, body.model_dump())
    return {"success": True, "id": request_id, "request_id": request_id}


@router.post("/library-track-metadata", response_model=TrackOut)
def track_metadata(body: TrackMetadataBody, request: Request, st: StateDep) -> TrackOut:
    actor = _actor(request, body.api_key)
    with st.db.write() as session:
        promptlayer.annotate_request(session, actor, body.request_id, metadata=body.metadata)
    return TrackOut()


@router.post("/library-track-score", response_model=TrackOut)
def track_score(body: TrackScoreBody, request: Request, st: StateDep) -> TrackOut:
    actor = _actor(request, body.api_key)
    with st.db.write() as session:
        promptlayer.annotate_request(
            session, actor, body.request_id, score=(body.name or "default", body.score)
        )
    return TrackOut()


@router.post("/library-track-prompt", response_model=TrackOut)
def track_prompt(body: TrackPromptBody, request: Request, st: StateDep) -> TrackOut:
    actor = _actor(request, body.api_key)
    with st.db.write() as session:
        promptlayer.link_request(
            session,
            actor,
            body.request_id,
            prompt_name=body.prompt_name,
            version=body.version,
            label=body.label,
            input_variables=body.prompt_input_variables,
        )
    return TrackOut()


@router.post("/track-group", response_model=TrackOut)
def track_group(body: TrackGroupBody, request: Request, st: StateDep) -> TrackOut:
    actor = _actor(request, body.api_key)
    with st.db.write() as session:
        promptlayer.annotate_request(session, actor, body.request_id, group_id=body.group_id)
    return TrackOut()


@router.post("/create-group", response_model=CreateGroupOut)
def create_group(body: CreateGroupBody, request: Request) -> CreateGroupOut:
    """``group.create()``: a number to track requests with (no stored group object)."""
    return CreateGroupOut(id=promptlayer.new_group_id(_actor(request, body.api_key)))


@router.api_route(
    "/{path:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"], include_in_schema=False
)
def unsupported(path: str) -> Any:
    """What PromptLayer has and PromptOps does not (workflows, datasets, evaluations,
    tracing spans, skills, ...)."""
    raise NotFoundError(
        f"PromptOps's PromptLayer compatibility API does not implement /{path[:100]}"
        " (supported: prompt templates, publish, track-request, log-request, track"
        " metadata/score/prompt/group)"
    )
