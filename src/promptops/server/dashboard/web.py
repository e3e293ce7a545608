"""What every dashboard page shares: templates, the signed-in person, the project it is
looking at, CSRF checking, flash messages, cookies, security headers and error pages.

Pages are plain server-rendered HTML; each form carries the session's CSRF token in a hidden
``csrf_token`` field and every POST checks it (403 otherwise). Errors a person can fix are
shown beside the field that caused them; others render an error page with the status code.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote

from fastapi import Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException as StarletteHTTPException

from promptops.contract.text import check_text
from promptops.db.models import Project
from promptops.domain import approvals, users
from promptops.domain.access import APPROVER_ROLES, Actor
from promptops.domain.errors import DomainError, NotFoundError
from promptops.domain.projects import PROJECT_ID
from promptops.server.api.deps import AppState
from promptops.server.dashboard.formatting import format_cost, format_duration
from promptops.server.errors import unexpected_error
from promptops.server.user_auth import SESSION_COOKIE, SignedIn, UserAuthenticator

__all__ = [
    "FLASH_COOKIE",
    "CheckedForm",
    "PageRoute",
    "ProjectCtx",
    "ProjectDep",
    "SignInRequired",
    "Viewer",
    "ViewerDep",
    "field_errors",
    "redirect",
    "render",
    "set_cookie",
    "text",
]

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.globals["quote"] = lambda v: quote(str(v), safe="")
TEMPLATES.env.filters["dt"] = lambda d: d.strftime("%Y-%m-%d %H:%M UTC") if d else "—"
TEMPLATES.env.filters["tuple_pair"] = lambda v: (v, v)
TEMPLATES.env.filters["version_option"] = lambda n: (n, f"v{n}")
TEMPLATES.env.filters["cost"] = format_cost
TEMPLATES.env.globals["duration"] = format_duration
FLASH_COOKIE = "promptops_flash"
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


class SignInRequired(Exception):
    """No live session: the page redirects to the sign-in form."""


class CsrfError(Exception):
    """A POST without the session's CSRF token."""


def app_state(request: Request) -> AppState:
    return request.app.state.po


def people(request: Request) -> UserAuthenticator:
    auth = app_state(request).users
    assert auth is not None
    return auth


# ---- who is looking ------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    signed: SignedIn

    @property
    def user(self) -> Any:
        return self.signed.user

    @property
    def email(self) -> str:
        return str(self.signed.user.email)

    @property
    def is_instance_admin(self) -> bool:
        return bool(self.signed.user.is_instance_admin)

    @property
    def csrf_token(self) -> str:
        return self.signed.csrf_token


def current_viewer(request: Request) -> Viewer:
    signed = people(request).signed_in(request.cookies.get(SESSION_COOKIE))
    if signed is None:
        raise SignInRequired()
    return Viewer(signed)


ViewerDep = Annotated[Viewer, Depends(current_viewer)]


@dataclass(frozen=True)
class ProjectCtx:
    """The project a page is about, and what the viewer may do there."""

    viewer: Viewer
    project: Project
    role: str  # owner | admin | editor | viewer
    actor: Actor

    @property
    def id(self) -> str:
        return self.project.id

    @property
    def can_edit(self) -> bool:
        return self.role != "viewer"

    @property
    def can_manage(self) -> bool:
        return self.role in APPROVER_ROLES

    @property
    def is_owner(self) -> bool:
        return self.role == "owner" or self.viewer.is_instance_admin


def current_project(project_id: str, request: Request, viewer: ViewerDep) -> ProjectCtx:
    """404 unless the viewer is a member: other projects are invisible, not forbidden."""
    with app_state(request).db.read() as session:
        project = session.get(Project, project_id) if PROJECT_ID.match(project_id) else None
        role = users.effective_role(session, viewer.user, project_id) if project else None
        if project is None or role is None:
            raise NotFoundError("project not found")
    return ProjectCtx(viewer, project, role, users.actor_for(viewer.user, project_id, role))


ProjectDep = Annotated[ProjectCtx, Depends(current_project)]


async def checked_form(request: Request, viewer: ViewerDep) -> FormData:
    """The POSTed form, after checking its CSRF token against the session's."""
    form = await checked_text(request)
    token = form.get("csrf_token")
    if not isinstance(token, str) or not hmac.compare_digest(
        token.encode(), viewer.csrf_token.encode()
    ):
        raise CsrfError()
    return form


CheckedForm = Annotated[FormData, Depends(checked_form)]


async def checked_text(request: Request) -> FormData:
    """The POSTed form, every field's text checked by the shared rule (a 422 naming the
    field: a NUL character would otherwise reach the database)."""
    form = await request.form()
    for name, value in form.multi_items():
        check_text(name, "form")
        if isinstance(value, str):
            check_text(value, name)
    return form


def text(form: FormData, name: str, default: str = "") -> str:
    value = form.get(name)
    return value if isinstance(value, str) else default


def field_errors(exc: DomainError, default_field: str) -> dict[str, str]:
    """A domain error as ``{field: message}`` for showing beside the field."""
    return {exc.field or default_field: exc.message}


# ---- responses -----------------------------------------------------------------------------


def _pending_count(request: Request, project: Project) -> int:
    with app_state(request).db.read() as session:
        return approvals.pending_count(session, project.id)


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    viewer: Viewer | None = None,
    ctx: ProjectCtx | None = None,
) -> HTMLResponse:
    page: dict[str, Any] = {
        "viewer": viewer or (ctx.viewer if ctx else None),
        "ctx": ctx,
        "flash": unquote(request.cookies.get(FLASH_COOKIE, ""))[:500] or None,
        "pending_count": _pending_count(request, ctx.project) if ctx else 0,
        "errors": {},
        "values": {},
        "actor_names": {},  # key prefix -> "name (prefix)", see promptops.domain.actors
    }
    page.update(context or {})
    response = TEMPLATES.TemplateResponse(request, template, page, status_code=status)
    if page["flash"]:
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(url: str, flash: str | None = None) -> RedirectResponse:
    response = RedirectResponse(url, status_code=303)
    if flash:
        response.set_cookie(FLASH_COOKIE, quote(flash[:500]), httponly=True, samesite="lax")
    return response


def set_cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    *,
    max_age: int | None = None,
    path: str = "/",
) -> None:
    """HttpOnly, SameSite=Lax; Secure per ``cookie_secure`` (auto: when the request is https)."""
    mode = app_state(request).settings.cookie_secure
    secure = mode == "always" or (mode == "auto" and request.url.scheme == "https")
    response.set_cookie(
        name, value, max_age=max_age, path=path, httponly=True, samesite="lax", secure=secure
    )


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    try:
        viewer: Viewer | None = current_viewer(request)
    except Exception:  # an error page must render even without a session or database
        viewer = None
    titles = {
        403: "Not allowed",
        404: "Not found",
        409: "Conflict",
        422: "Invalid input",
        429: "Too many attempts",
        503: "Unavailable",
    }
    return render(
        request,
        "error.html",
        {"status": status, "title": titles.get(status, "Something went wrong"), "message": message},
        status=status,
        viewer=viewer,
    )


def new_token() -> str:
    return secrets.token_urlsafe(32)


class PageRoute(APIRoute):
    """Dashboard routes: errors become HTML pages (or a redirect to sign in), and every
    response carries the security headers (CSP without inline scripts, no framing)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                response = RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
            except CsrfError:
                response = error_page(
                    request,
                    403,
                    "This form was not sent from a page of this site, or the page is too old"
                    " (CSRF token missing or wrong). Go back, reload the page and try again.",
                )
            except DomainError as exc:
                response = error_page(request, exc.status, exc.message)
            except RequestValidationError as exc:
                first = exc.errors()[0] if exc.errors() else {}
                where = ".".join(str(p) for p in first.get("loc", ()) if p != "query")
                response = error_page(
                    request, 400, f"invalid request: {where} {first.get('msg', '')}".strip()
                )
            except StarletteHTTPException as exc:
                response = error_page(request, exc.status_code, str(exc.detail))
            except Exception as exc:  # the database unavailable (503), or a bug: a page
                status, _, message, headers = unexpected_error(exc)
                response = error_page(request, status, message)
                response.headers.update(headers or {})
            for name, value in _SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
            return response

        return page
