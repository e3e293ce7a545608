"""The editor: a new version of a prompt (messages and placeholders, or one text; tools, the
response format, parameters, declared inputs), checked as you type by the contract.

One rule set: the form becomes the create body (:mod:`promptops.server.dashboard.draft`),
validated by ``parse(VersionCreate, ...)`` here and again by the domain when saving
(:func:`promptops.domain.versions.push_body`). ``POST /p/{project}/prompts/{slug}/validate``
(JSON: the form's fields and the sample values; CSRF in the ``X-CSRF-Token`` header) answers
the contract's first error (message, field, and the box it belongs to) with the inferred
variables and a preview; the page's script calls it while typing. Without JavaScript the
page's buttons post the form and the server does the same (add, remove and move rows,
preview, save).

Saving content identical to the version active in ``dev`` creates nothing (push semantics)
and says so.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from promptops.contract.content import INPUT_TYPES, ROLES, VersionCreate
from promptops.contract.fields import MAX_TEXT, Str
from promptops.contract.validation import parse
from promptops.db.models import Prompt, PromptVersion
from promptops.domain import prompts, versions
from promptops.domain.errors import DomainError, InvalidInputError, PermissionDeniedError
from promptops.server.dashboard.draft import Draft, FieldError, field_error
from promptops.server.dashboard.preview import Preview, build_preview
from promptops.server.dashboard.web import (
    TEMPLATES,
    CheckedForm,
    CsrfError,
    PageRoute,
    ProjectCtx,
    ProjectDep,
    ViewerDep,
    app_state,
    redirect,
    render,
    text,
)
from promptops.server.user_auth import CSRF_HEADER

router = APIRouter(route_class=PageRoute, include_in_schema=False)

MAX_SAMPLE = 10_000


def check(draft: Draft) -> tuple[VersionCreate | None, FieldError | None]:
    """The draft through the contract: the parsed body, or its first error."""
    try:
        return parse(VersionCreate, draft.body()), None
    except InvalidInputError as exc:
        return None, field_error(exc, draft.field_names())


def _preview(request: Request, ctx: ProjectCtx, draft: Draft, samples: dict[str, str]) -> Preview:
    with app_state(request).db.read() as session:
        return build_preview(session, ctx.id, draft, samples)


def _editor(
    request: Request,
    ctx: ProjectCtx,
    prompt: Prompt,
    draft: Draft,
    samples: dict[str, str],
    *,
    base: int | None,
    error: FieldError | None = None,
    status: int = 200,
) -> Response:
    context = {
        "prompt": prompt,
        "draft": draft,
        "values": draft.values,
        "samples": samples,
        "preview": _preview(request, ctx, draft, samples),
        "error": error,
        "errors": {error.target: error.text} if error else {},
        "base": base,
        "roles": ROLES,
        "input_types": INPUT_TYPES,
        "section": "prompts",
    }
    return render(request, "editor.html", context, ctx=ctx, status=status)


def _require_editor(ctx: ProjectCtx) -> None:
    if not ctx.can_edit:
        raise PermissionDeniedError(
            f"you are {ctx.role!r} in this project; editing prompts needs 'editor' or higher"
        )


def _prompt(request: Request, ctx: ProjectCtx, slug: str) -> Prompt:
    with app_state(request).db.read() as session:
        return prompts.get_prompt(session, ctx.id, slug, kind="prompt")


@router.get("/p/{project_id}/prompts/{slug}/edit")
def edit_page(
    slug: str,
    request: Request,
    ctx: ProjectDep,
    base: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    _require_editor(ctx)
    with app_state(request).db.read() as session:
        prompt = prompts.get_prompt(session, ctx.id, slug, kind="prompt")
        if base is not None:
            version: PromptVersion | None = versions.get_version(session, prompt, base)
        else:
            latest = versions.list_versions(session, prompt, limit=1)
            version = latest[0] if latest else None
    draft = Draft.empty(prompt.type) if version is None else Draft.of_version(prompt.type, version)
    number = version.version if version else None
    return _editor(request, ctx, prompt, draft, {}, base=number)


def _form_fields(form: FormData) -> tuple[dict[str, str], dict[str, str]]:
    """The form's fields (bounded) and its sample values (``sample.<name>``)."""
    fields: dict[str, str] = {}
    samples: dict[str, str] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if key.startswith("sample."):
            samples[key.removeprefix("sample.")] = value[:MAX_SAMPLE]
        else:
            fields[key] = value[:MAX_TEXT]
    return fields, samples


@router.post("/p/{project_id}/prompts/{slug}/edit")
def save_version(slug: str, request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    _require_editor(ctx)
    prompt = _prompt(request, ctx, slug)
    fields, samples = _form_fields(form)
    draft = Draft.of_fields(prompt.type, fields)
    base_raw = text(form, "base")
    base = int(base_raw) if base_raw.isdigit() and len(base_raw) < 10 else None
    intent = text(form, "intent", "save")
    if intent != "save":
        draft.apply(intent)  # a row added, removed or moved; or just "preview"
        _, error = check(draft)
        return _editor(request, ctx, prompt, draft, samples, base=base, error=error)
    body, error = check(draft)
    if body is not None:
        try:
            with app_state(request).db.write() as session:
                pushed = versions.push_body(session, ctx.actor, slug, body)
                number, created = pushed.version.version, pushed.created
        except DomainError as exc:
            if exc.status in (403, 404):
                raise
            refused = InvalidInputError(exc.message, field=exc.field)
            error = field_error(refused, draft.field_names())
    if error is not None:
        return _editor(request, ctx, prompt, draft, samples, base=base, error=error, status=422)
    if not created:
        return redirect(
            f"/p/{ctx.id}/prompts/{slug}",
            f"No change: this is the content of v{number}, already active in dev;"
            " no new version was created.",
        )
    return redirect(f"/p/{ctx.id}/prompts/{slug}", f"Created v{number}; it is now active in dev.")


Key = Str(200)
Value = Str(MAX_TEXT)
Sample = Str(MAX_SAMPLE)


class ValidateIn(BaseModel):
    """The editor script's copy of the form: its fields and the sample values."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[Key, Value] = Field(default_factory=dict, max_length=5000)  # type: ignore[valid-type]
    samples: dict[Key, Sample] = Field(default_factory=dict, max_length=500)  # type: ignore[valid-type]


def header_csrf(request: Request, viewer: ViewerDep) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), viewer.csrf_token.encode()):
        raise CsrfError()


def check_result(draft: Draft, preview: Preview) -> dict[str, Any]:
    _, error = check(draft)
    shown = None
    if error is not None:
        shown = {
            "message": error.message,
            "field": error.field,
            "target": error.target,
            "text": error.text,
        }
    html = TEMPLATES.env.get_template("_preview.html").render(preview=preview)
    return {"ok": error is None, "error": shown, **preview.as_json(), "preview_html": html}


@router.post("/p/{project_id}/prompts/{slug}/validate", dependencies=[Depends(header_csrf)])
def validate(slug: str, body: ValidateIn, request: Request, ctx: ProjectDep) -> Response:
    """The contract's first error (or none), the variables and a preview, for the script."""
    _require_editor(ctx)
    prompt = _prompt(request, ctx, slug)
    draft = Draft.of_fields(prompt.type, body.fields)
    preview = _preview(request, ctx, draft, body.samples)
    return JSONResponse(check_result(draft, preview))
