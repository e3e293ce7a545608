"""The editor: a new version from the current one, checked as you type.

``POST /p/{project}/validate`` (JSON, CSRF in the ``X-CSRF-Token`` header) parses both texts
with :mod:`promptops.templating`, lists the variables and renders a preview from sample
values; the page's script calls it while typing. Without JavaScript the "Preview" button
posts the form and the server renders the same result.
"""

from __future__ import annotations

import hmac
import json
import math
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.datastructures import FormData

from promptops.db.models import PromptVersion
from promptops.domain import prompts, versions
from promptops.domain.errors import DomainError, PermissionDeniedError
from promptops.errors import TemplateError
from promptops.server.dashboard.web import (
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
from promptops.templating import Template

router = APIRouter(route_class=PageRoute, include_in_schema=False)

FIELDS = ("system_prompt", "user_template", "model", "temperature", "max_tokens", "metadata")
_MAX_TEXT = 200_000


@dataclass
class Checked:
    """The outcome of checking the two texts: variables, errors per field, and a preview of
    each text that parses (an error in one text leaves the other's preview in place)."""

    variables: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    preview: dict[str, str] = field(default_factory=dict)


def check_texts(system_prompt: str, user_template: str, samples: dict[str, str]) -> Checked:
    result = Checked()
    parsed: dict[str, Template] = {}
    for name, source in (("system_prompt", system_prompt), ("user_template", user_template)):
        try:
            parsed[name] = Template(source)
        except TemplateError as exc:
            result.errors[name] = exc.message
    for template in parsed.values():
        result.variables += [v for v in template.variables if v not in result.variables]
    values = {name: samples.get(name) or f"{{{{{name}}}}}" for name in result.variables}
    for name, template in parsed.items():  # each text that parses has its own preview
        result.preview[name] = _preview(template, {v: values[v] for v in template.variables})
    return result


def _preview(template: Template, values: dict[str, str]) -> str:
    """The template rendered with the sample texts; a name inside a section that the
    samples cannot give makes the preview say so (the template itself is valid)."""
    try:
        return template.render(values)
    except TemplateError as exc:
        return f"(no preview with these sample values: {exc.message})"


def _parse_numbers(form_values: dict[str, str], errors: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"model": form_values["model"].strip()}
    if not out["model"]:
        errors["model"] = "enter a model name (e.g. gpt-4o-mini)"
    elif len(out["model"]) > 200:
        errors["model"] = "the model name is longer than 200 characters"
    try:
        temperature = float(form_values["temperature"] or "1.0")
        if not math.isfinite(temperature) or not 0.0 <= temperature <= 2.0:
            raise ValueError
        out["temperature"] = temperature
    except ValueError:
        errors["temperature"] = "enter a number from 0.0 to 2.0"
    raw = form_values["max_tokens"].strip()
    try:
        out["max_tokens"] = int(raw) if raw else None
        if out["max_tokens"] is not None and not 0 < out["max_tokens"] <= 10_000_000:
            raise ValueError
    except ValueError:
        errors["max_tokens"] = "enter a whole number above 0, or leave it empty"
    try:
        meta = json.loads(form_values["metadata"] or "{}")
        if not isinstance(meta, dict):
            raise ValueError("not an object")
        out["metadata"] = meta
    except ValueError:
        errors["metadata"] = 'enter a JSON object, e.g. {"owner": "growth"}, or leave it empty'
    return out


def _values_from(version: PromptVersion | None) -> dict[str, str]:
    if version is None:
        return {"temperature": "1.0", "model": "gpt-4o-mini", "metadata": "{}"}
    return {
        "system_prompt": version.system_prompt,
        "user_template": version.user_template,
        "model": version.model,
        "temperature": str(version.temperature),
        "max_tokens": "" if version.max_tokens is None else str(version.max_tokens),
        "metadata": json.dumps(version.meta or {}, indent=2, ensure_ascii=False),
    }


def _editor(
    request: Request,
    ctx: ProjectCtx,
    slug: str,
    values: dict[str, str],
    samples: dict[str, str],
    *,
    base: int | None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with app_state(request).db.read() as session:
        prompt = prompts.get_prompt(session, ctx.id, slug)
    checked = check_texts(values.get("system_prompt", ""), values.get("user_template", ""), samples)
    context = {
        "prompt": prompt,
        "values": values,
        "samples": samples,
        "checked": checked,
        "errors": {**checked.errors, **(errors or {})},
        "base": base,
        "section": "prompts",
    }
    return render(request, "editor.html", context, ctx=ctx, status=status)


def _require_editor(ctx: ProjectCtx) -> None:
    if not ctx.can_edit:
        raise PermissionDeniedError(
            f"you are {ctx.role!r} in this project; editing prompts needs 'editor' or higher"
        )


@router.get("/p/{project_id}/prompts/{slug}/edit")
def edit_page(
    slug: str,
    request: Request,
    ctx: ProjectDep,
    base: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    _require_editor(ctx)
    with app_state(request).db.read() as session:
        prompt = prompts.get_prompt(session, ctx.id, slug)
        if base is not None:
            version: PromptVersion | None = versions.get_version(session, prompt, base)
        else:
            latest = versions.list_versions(session, prompt, limit=1)
            version = latest[0] if latest else None
    values = _values_from(version)
    return _editor(request, ctx, slug, values, {}, base=version.version if version else None)


def _form_values(form: FormData) -> tuple[dict[str, str], dict[str, str]]:
    values = {name: text(form, name)[:_MAX_TEXT] for name in (*FIELDS, "commit_message")}
    samples = {
        key.removeprefix("sample."): value[:10_000]
        for key, value in form.multi_items()
        if key.startswith("sample.") and isinstance(value, str)
    }
    return values, samples


@router.post("/p/{project_id}/prompts/{slug}/edit")
def save_version(slug: str, request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    _require_editor(ctx)
    values, samples = _form_values(form)
    base_raw = text(form, "base")
    base = int(base_raw) if base_raw.isdigit() and len(base_raw) < 10 else None
    if text(form, "intent") == "preview":
        return _editor(request, ctx, slug, values, samples, base=base)
    errors: dict[str, str] = {}
    checked = check_texts(values["system_prompt"], values["user_template"], samples)
    errors.update(checked.errors)
    if not values["user_template"].strip():
        errors["user_template"] = "the user template cannot be empty"
    parsed = _parse_numbers(values, errors)
    if errors:
        return _editor(request, ctx, slug, values, samples, base=base, errors=errors, status=422)
    try:
        with app_state(request).db.write() as session:
            version = versions.create_version(
                session,
                ctx.actor,
                slug,
                system_prompt=values["system_prompt"],
                user_template=values["user_template"],
                commit_message=values["commit_message"].strip()[:2000] or None,
                **parsed,
            )
            number = version.version
    except DomainError as exc:
        if exc.status in (403, 404):
            raise
        errors = {exc.field or "user_template": exc.message}
        return _editor(request, ctx, slug, values, samples, base=base, errors=errors, status=422)
    return redirect(f"/p/{ctx.id}/prompts/{slug}", f"Created v{number}; it is now active in dev.")


class ValidateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    system_prompt: Annotated[str, Field(max_length=_MAX_TEXT)] = ""
    user_template: Annotated[str, Field(max_length=_MAX_TEXT)] = ""
    samples: dict[str, Annotated[str, Field(max_length=10_000)]] = Field(
        default_factory=dict, max_length=200
    )


def header_csrf(request: Request, viewer: ViewerDep) -> None:
    sent = request.headers.get(CSRF_HEADER, "")
    if not hmac.compare_digest(sent.encode(), viewer.csrf_token.encode()):
        raise CsrfError()


@router.post("/p/{project_id}/validate", dependencies=[Depends(header_csrf)])
def validate(body: ValidateIn, ctx: ProjectDep) -> Response:
    """Variables, errors by field and a preview, for the editor's script."""
    _require_editor(ctx)
    checked = check_texts(body.system_prompt, body.user_template, body.samples)
    return JSONResponse(
        {"variables": checked.variables, "errors": checked.errors, "preview": checked.preview}
    )
