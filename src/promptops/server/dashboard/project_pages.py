"""Projects (list, create), API keys, settings (protected environments, members), and the
audit log (filters by action, actor, prompt and dates; pages of 50; before/after as a diff)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from promptops.contract.projects import KeyCreate, ProjectCreate
from promptops.contract.users import MemberSet
from promptops.contract.validation import parse
from promptops.db.models import ApiKey, AuditEvent, User
from promptops.domain import actors, audit, keys, projects, protection, users
from promptops.domain.access import ENVIRONMENTS, MEMBER_ROLES, ROLES
from promptops.domain.errors import DomainError, InvalidInputError, PermissionDeniedError
from promptops.server.dashboard import diffing
from promptops.server.dashboard.web import (
    CheckedForm,
    PageRoute,
    ProjectCtx,
    ProjectDep,
    ViewerDep,
    app_state,
    field_errors,
    redirect,
    render,
    text,
)

router = APIRouter(route_class=PageRoute, include_in_schema=False)


# ---- projects ------------------------------------------------------------------------------


def _projects(request: Request, viewer: ViewerDep, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        user = session.get(User, viewer.user.id)
        assert user is not None
        rows = users.projects_of(session, user)
    return render(
        request, "projects.html", {"projects": rows, **extra}, viewer=viewer, status=status
    )


@router.get("/projects")
def project_list(request: Request, viewer: ViewerDep) -> Response:
    return _projects(request, viewer)


@router.post("/projects")
def create_project(request: Request, viewer: ViewerDep, form: CheckedForm) -> Response:
    name = text(form, "name").strip()
    if not viewer.is_instance_admin:
        raise PermissionDeniedError("only an instance admin creates projects")
    try:
        name = parse(ProjectCreate, {"name": name}).name  # the API's rule and message
    except InvalidInputError as exc:
        errors = field_errors(exc, "name")
        return _projects(request, viewer, errors=errors, values={"name": name}, status=422)
    st = app_state(request)
    secret = keys.new_secret(st.settings.bcrypt_rounds)  # bcrypt before the transaction
    with st.db.write() as session:
        user = session.get(User, viewer.user.id)
        assert user is not None
        project, issued = projects.create_project(
            session, users.actor_for(user, None, None), name=name, secret=secret
        )
        created = {"id": project.id, "name": project.name, "key": issued.key}
    return _projects(request, viewer, created=created, status=201)


@router.get("/p/{project_id}")
def project_home(ctx: ProjectDep) -> Response:
    return redirect(f"/p/{ctx.id}/prompts")


# ---- API keys ------------------------------------------------------------------------------


def _keys(request: Request, ctx: ProjectCtx, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        rows = keys.list_keys(session, ctx.actor)
        names = actors.display_names(session, ctx.id, [k.created_by for k in rows])
    context = {
        "keys": rows,
        "actor_names": names,
        "environments": ENVIRONMENTS,
        "roles": ROLES,
        "section": "keys",
        **extra,
    }
    return render(request, "keys.html", context, ctx=ctx, status=status)


@router.get("/p/{project_id}/keys")
def key_list(request: Request, ctx: ProjectDep) -> Response:
    return _keys(request, ctx)


@router.post("/p/{project_id}/keys")
def create_key(request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    name, environment = text(form, "name").strip(), text(form, "environment")
    role, bypass = text(form, "role", "read"), text(form, "can_bypass_protection") == "on"
    values = {"name": name, "environment": environment, "role": role}
    values["can_bypass_protection"] = "on" if bypass else ""
    st = app_state(request)
    try:
        body = {"environment": environment, "role": role, "name": name or None}
        parse(KeyCreate, {**body, "can_bypass_protection": bypass})  # the API's rules
        keys.check_create(
            ctx.actor, environment=environment, role=role, can_bypass_protection=bypass
        )
        secret = keys.new_secret(st.settings.bcrypt_rounds)  # bcrypt before the transaction
        with st.db.write() as session:
            issued = keys.create_key(
                session,
                ctx.actor,
                environment=environment,
                role=role,
                name=name or None,
                secret=secret,
                can_bypass_protection=bypass,
            )
            new_key = {"key": issued.key, "prefix": issued.record.prefix}
    except DomainError as exc:
        errors = field_errors(exc, "name")
        return _keys(request, ctx, errors=errors, values=values, status=exc.status)
    return _keys(request, ctx, new_key=new_key, status=201)


def _find_key(request: Request, ctx: ProjectCtx, prefix: str) -> ApiKey:
    with app_state(request).db.read() as session:
        record = keys.find_by_prefix(session, prefix)
    if record is None or record.project_id != ctx.id:
        raise InvalidInputError(f"no key {prefix[:40]!r} in this project")
    return record


@router.get("/p/{project_id}/keys/{prefix}/revoke")
def confirm_revoke(prefix: str, request: Request, ctx: ProjectDep) -> Response:
    record = _find_key(request, ctx, prefix)
    return render(request, "revoke_key.html", {"key": record, "section": "keys"}, ctx=ctx)


@router.post("/p/{project_id}/keys/{prefix}/revoke")
def revoke_key(prefix: str, request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    with app_state(request).db.write() as session:
        keys.revoke_key(session, ctx.actor, prefix)
    return redirect(f"/p/{ctx.id}/keys", f"Key {prefix} revoked: it is refused from now on.")


# ---- settings: protected environments and members -----------------------------------------


def _settings(request: Request, ctx: ProjectCtx, **extra: Any) -> Response:
    status = int(extra.pop("status", 200))
    with app_state(request).db.read() as session:
        environments = protection.environment_settings(session, ctx.id)
        required = protection.all_required_evals(session, ctx.id)
        members = users.list_members(session, ctx.id)
    context = {
        "environments": environments,
        "required": required,
        "protectable": protection.PROTECTABLE,
        "members": members,
        # The only owner cannot be removed (users.remove_member refuses it too).
        "owners": sum(1 for _, membership in members if membership.role == "owner"),
        "member_roles": MEMBER_ROLES,
        "section": "settings",
        **extra,
    }
    return render(request, "settings.html", context, ctx=ctx, status=status)


@router.get("/p/{project_id}/settings")
def settings_page(request: Request, ctx: ProjectDep) -> Response:
    return _settings(request, ctx)


@router.post("/p/{project_id}/settings/environments")
def save_environments(request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    wanted = {env: text(form, f"protect.{env}") == "on" for env in protection.PROTECTABLE}
    with app_state(request).db.write() as session:
        for env, on in wanted.items():
            protection.set_protected(session, ctx.actor, env, on)
    protected = [env for env, on in wanted.items() if on] or ["none"]
    return redirect(
        f"/p/{ctx.id}/settings", f"Saved. Protected environments: {', '.join(protected)}."
    )


@router.post("/p/{project_id}/members")
def set_member(request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    email, role, password = text(form, "email").strip(), text(form, "role"), text(form, "password")
    values = {"email": email, "role": role}
    st = app_state(request)
    try:
        parse(MemberSet, values)  # the API's rules
        address = users.normalize_email(email)
        hashed = None  # a new user's password, hashed before the write transaction
        if password and ctx.viewer.is_instance_admin:
            with st.db.read() as session:
                missing = users.find_by_email(session, address) is None
            if missing:
                hasher = st.users.hasher if st.users else users.DEFAULT_HASHER
                hashed = users.hash_password(password, hasher)
        with st.db.write() as session:
            if users.find_by_email(session, address) is None:
                if not ctx.viewer.is_instance_admin:
                    raise InvalidInputError(
                        f"no user with email {address!r}: an instance admin creates users",
                        field="email",
                    )
                if hashed is None:
                    raise InvalidInputError(
                        "no user with this email yet: give a password to create one",
                        field="password",
                    )
                admin = session.get(User, ctx.viewer.user.id)
                assert admin is not None
                users.create_user(
                    session,
                    users.actor_for(admin, None, None),
                    email=address,
                    password=hashed,
                )
            users.set_member(session, ctx.actor, None, email=address, role=role)
    except DomainError as exc:
        errors = field_errors(exc, "email")
        return _settings(request, ctx, errors=errors, values=values, status=exc.status)
    return redirect(f"/p/{ctx.id}/settings", f"{email.lower()} is now {role} in this project.")


@router.post("/p/{project_id}/members/remove")
def remove_member(request: Request, ctx: ProjectDep, form: CheckedForm) -> Response:
    email = text(form, "email")
    try:
        with app_state(request).db.write() as session:
            users.remove_member(session, ctx.actor, None, email=email)
    except DomainError as exc:
        errors = {"remove": exc.message}
        return _settings(request, ctx, errors=errors, status=exc.status)
    return redirect(f"/p/{ctx.id}/settings", f"{email} was removed from this project.")


# ---- audit log -----------------------------------------------------------------------------


AUDIT_PAGE = 50


def _day(value: str, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInputError("pick a date (year, month and day)", field=name) from None


def _audit_filters(values: dict[str, str]) -> audit.AuditFilters:
    since, until = _day(values["since"], "since"), _day(values["until"], "until")
    if since and until and until < since:
        raise InvalidInputError("the end date is before the start date", field="until")
    return audit.AuditFilters(
        action=values["action"] or None,
        actor=values["actor"] or None,
        prompt_slug=values["prompt"] or None,
        since=datetime.combine(since, time.min, tzinfo=UTC) if since else None,
        until=datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC) if until else None,
    )


def _readable(event: AuditEvent) -> dict[str, Any]:
    """An event's before and after as readable lines, and their diff when both are there."""
    both = event.before is not None and event.after is not None
    return {
        "event": event,
        "rows": diffing.record_rows(event.before, event.after) if both else None,
        "before": diffing.readable_lines(event.before),
        "after": diffing.readable_lines(event.after),
    }


@router.get("/p/{project_id}/audit")
def audit_log(
    request: Request,
    ctx: ProjectDep,
    action: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=200)] = "",
    prompt: Annotated[str, Query(max_length=100)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
) -> Response:
    values = {
        "action": action.strip(),
        "actor": actor.strip(),
        "prompt": prompt.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    errors: dict[str, str] = {}
    events: list[AuditEvent] = []
    with app_state(request).db.read() as session:
        try:
            filters = _audit_filters(values)
            events = audit.list_events(
                session, ctx.id, limit=AUDIT_PAGE, before_id=cursor, filters=filters
            )
        except InvalidInputError as exc:
            errors[exc.field or "since"] = exc.message
        actions, labels = audit.filter_choices(session, ctx.id)
        names = actors.display_names(session, ctx.id, labels + [e.target for e in events])
    query = urlencode({k: v for k, v in values.items() if v})
    context = {
        "items": [_readable(e) for e in events],
        "values": values,
        "errors": errors,
        "filtered": any(values.values()),
        "actions": actions,
        "actors": labels,
        "actor_names": names,
        "query": query,
        "cursor": cursor,
        "next_cursor": events[-1].id if len(events) == AUDIT_PAGE else None,
        "section": "audit",
    }
    return render(request, "audit.html", context, ctx=ctx, status=422 if errors else 200)
