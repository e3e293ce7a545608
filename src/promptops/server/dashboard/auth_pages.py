"""Sign in, sign out, and the account page (password, other sessions, personal API tokens)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from promptops.contract.users import TokenCreate
from promptops.contract.validation import parse
from promptops.db.models import User
from promptops.domain import sessions, users
from promptops.domain.errors import AuthenticationError, DomainError, InvalidInputError
from promptops.server.dashboard.web import (
    CheckedForm,
    CsrfError,
    PageRoute,
    ViewerDep,
    app_state,
    checked_text,
    field_errors,
    new_token,
    people,
    redirect,
    render,
    set_cookie,
    text,
)
from promptops.server.user_auth import SESSION_COOKIE, RateLimitedError

router = APIRouter(route_class=PageRoute, include_in_schema=False)

LOGIN_CSRF_COOKIE = "promptops_login_csrf"


def safe_next(target: str | None) -> str:
    """Only same-site paths: ``/x`` yes; ``//evil.example`` or ``https://…`` no."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/projects"
    return target


async def raw_form(request: Request) -> FormData:
    return await checked_text(request)


@router.get("/")
def home(request: Request) -> Response:
    signed = people(request).signed_in(request.cookies.get(SESSION_COOKIE))
    return redirect("/projects" if signed else "/login")


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if people(request).signed_in(request.cookies.get(SESSION_COOKIE)) is not None:
        return redirect(safe_next(next))
    # Before there is a session, the form is protected by a double-submit token: the same
    # random value in an HttpOnly cookie and in the form.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_token()
    response = render(request, "login.html", {"login_csrf": token, "next": safe_next(next)})
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600, path="/login")
    return response


@router.post("/login")
def login(request: Request, form: Annotated[FormData, Depends(raw_form)]) -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    sent = text(form, "csrf_token")
    if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
        raise CsrfError()
    email, password = text(form, "email").strip(), text(form, "password")
    target = safe_next(text(form, "next"))
    address = request.client.host if request.client else "unknown"
    values = {"email": email}
    if not email:
        errors, status = {"email": "enter your email address"}, 422
    else:
        try:
            token, _ = people(request).login(email, password, address)
        except RateLimitedError as exc:
            limited = render(
                request,
                "login.html",
                {
                    "login_csrf": cookie,
                    "next": target,
                    "values": values,
                    "errors": {"email": exc.message},
                },
                status=429,
            )
            limited.headers["Retry-After"] = str(exc.retry_after)
            return limited
        except AuthenticationError as exc:
            errors, status = {"password": exc.message}, 401
        else:
            response = redirect(target)
            hours = app_state(request).settings.session_hours
            set_cookie(request, response, SESSION_COOKIE, token, max_age=int(hours * 3600))
            response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
            return response
    context = {"login_csrf": cookie, "next": target, "values": values, "errors": errors}
    return render(request, "login.html", context, status=status)


@router.post("/logout")
def logout(request: Request, form: CheckedForm) -> Response:
    people(request).logout(request.cookies.get(SESSION_COOKIE))
    response = redirect("/login", "You are signed out.")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# ---- account: password, other sessions, personal API tokens -------------------------------


def _account(request: Request, viewer: ViewerDep, **extra: object) -> Response:
    with app_state(request).db.read() as session:
        user = session.get(User, viewer.user.id)
        assert user is not None
        tokens = sessions.list_tokens(session, user)
        others = sessions.count_sessions(session, user) - 1
    status = int(str(extra.pop("status", 200)))
    context = {
        "tokens": tokens,
        "other_sessions": max(0, others),
        "min_password": users.MIN_PASSWORD,
        **extra,
    }
    return render(request, "account.html", context, viewer=viewer, status=status)


@router.get("/account")
def account(request: Request, viewer: ViewerDep) -> Response:
    return _account(request, viewer)


@router.post("/account/tokens")
def create_token(request: Request, viewer: ViewerDep, form: CheckedForm) -> Response:
    try:
        name = parse(TokenCreate, {"name": text(form, "name").strip() or None}).name
    except InvalidInputError as exc:
        return _account(request, viewer, errors=field_errors(exc, "name"), status=exc.status)
    with app_state(request).db.write() as session:
        user = session.get(User, viewer.user.id)
        assert user is not None
        issued = sessions.create_token(session, user, name=name)
        new_token_value = issued.token
    return _account(request, viewer, new_token=new_token_value, status=201)


@router.post("/account/tokens/{prefix}/revoke")
def revoke_token(prefix: str, request: Request, viewer: ViewerDep, form: CheckedForm) -> Response:
    try:
        with app_state(request).db.write() as session:
            user = session.get(User, viewer.user.id)
            assert user is not None
            sessions.revoke_token(session, user, prefix)
    except DomainError as exc:
        return _account(request, viewer, errors={"revoke": exc.message}, status=exc.status)
    return redirect("/account", f"Token {prefix} revoked.")


@router.post("/account/password")
def change_password(request: Request, viewer: ViewerDep, form: CheckedForm) -> Response:
    """Change your password (the current one required); your other sessions end."""
    new = text(form, "new_password")
    errors: dict[str, str] = {}
    if new != text(form, "confirm_password"):
        errors = {"confirm_password": "the two new passwords differ; type the same one twice"}
    else:
        address = request.client.host if request.client else "unknown"
        try:
            ended = people(request).change_password(
                viewer.signed, text(form, "current_password"), new, address
            )
        except DomainError as exc:  # wrong current password, rules, too many attempts
            errors = field_errors(exc, "current_password")
            response = _account(request, viewer, errors=errors, status=exc.status)
            if isinstance(exc, RateLimitedError):
                response.headers["Retry-After"] = str(exc.retry_after)
            return response
        return redirect("/account", f"Password changed. {_ended(ended)}")
    return _account(request, viewer, errors=errors, status=422)


@router.post("/account/sessions/sign-out-others")
def sign_out_others(request: Request, viewer: ViewerDep, form: CheckedForm) -> Response:
    ended = people(request).sign_out_others(viewer.signed)
    return redirect("/account", _ended(ended))


def _ended(count: int) -> str:
    if count == 0:
        return "You had no other sessions; this one stays signed in."
    plural = "s" if count > 1 else ""
    return f"Signed out of {count} other session{plural}; this one stays signed in."
