"""`promptops users create | list | set-password | disable | enable`: dashboard users,
managed on the database directly (like `migrate`), so a lost password can be reset by
whoever runs the server; plus the lines `promptops serve` prints about the instance admin.

A new password is never taken from the command line (it would show in the process list and
the shell history): `set-password` asks for it twice on a terminal, or reads one line from
standard input when that is not a terminal."""

from __future__ import annotations

import argparse
import getpass
import json
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from promptops.cli.http import CliError

__all__ = ["add_user_commands", "admin_user_lines", "password_hasher"]

MEMBER_ROLES = ["owner", "admin", "editor", "viewer"]


def password_hasher(settings: Any) -> Any:
    from argon2 import PasswordHasher

    return PasswordHasher(
        time_cost=settings.argon2_time_cost, memory_cost=settings.argon2_memory_kib
    )


def admin_user_lines(person: Any, settings: Any) -> list[str]:
    """What `serve` prints about the instance admin user (``person`` is an AdminUser)."""
    if person.password:
        return [
            "",
            "Dashboard sign-in for the instance admin (password shown once; store it now):",
            f"  email:      {person.email}",
            f"  password:   {person.password}",
        ]
    if person.created and settings.admin_password:
        return [f"  admin user: {person.email} (password from PROMPTOPS_ADMIN_PASSWORD)"]
    return [f"  admin user: {person.email} (its password was shown at first start)"]


def cmd_users_create(args: argparse.Namespace) -> int:
    from promptops.cli.serve import redact, server_settings

    settings = server_settings(args)
    if (args.project_id is None) != (args.role is None):
        raise CliError("give --project-id and --role together")
    password = args.password
    generated = False
    if password == "-":
        password = getpass.getpass("password: ")
    elif password is None:
        password, generated = secrets.token_urlsafe(12), True

    from promptops.db.models import Project
    from promptops.db.session import Database, migrate
    from promptops.domain import users
    from promptops.domain.access import Actor
    from promptops.domain.errors import DomainError

    migrate(settings.database_url)
    db = Database(settings.database_url)
    try:
        users.normalize_email(args.email)  # the one email check, before paying for argon2
        hashed = users.hash_password(password, password_hasher(settings))  # outside the write
        with db.write() as session:
            user = users.create_user(
                session,
                None,
                email=args.email,
                password=hashed,
                is_instance_admin=args.instance_admin,
            )
            if args.project_id is not None:
                if session.get(Project, args.project_id) is None:
                    raise CliError(f"no project with id {args.project_id!r}")
                system = Actor(label="system", role="admin")
                users.set_member(session, system, args.project_id, email=user.email, role=args.role)
            email = user.email
    except DomainError as exc:
        raise CliError(exc.message) from None
    finally:
        db.dispose()
    print(f"user {email} created in {redact(settings.database_url)}", file=sys.stderr)
    if args.project_id is not None:
        print(f"  role {args.role} in project {args.project_id}", file=sys.stderr)
    if generated:
        print(f"password (shown once): {password}")
    return 0


@contextmanager
def _database(args: argparse.Namespace) -> Iterator[tuple[Any, Any]]:
    """(settings, Database) for a command working on the database directly; domain errors
    become CLI errors (a field named ``force`` is the --force flag)."""
    from promptops.cli.serve import server_settings
    from promptops.db.session import Database, migrate
    from promptops.domain.errors import DomainError

    settings = server_settings(args)
    migrate(settings.database_url)
    db = Database(settings.database_url)
    try:
        yield settings, db
    except DomainError as exc:
        hint = " (pass --force to do it anyway)" if exc.field == "force" else ""
        raise CliError(exc.message + hint) from None
    finally:
        db.dispose()


def read_new_password(prompt: Callable[[str], str] = getpass.getpass) -> str:
    """The new password: asked twice on a terminal, else the first line of standard input."""
    if sys.stdin is not None and sys.stdin.isatty():
        first = prompt("new password: ")
        if prompt("new password again: ") != first:
            raise CliError("the two passwords differ; nothing was changed")
        return first
    line = sys.stdin.readline() if sys.stdin is not None else ""
    if not line:
        raise EOFError
    return line.removesuffix("\n").removesuffix("\r")


def cmd_users_set_password(args: argparse.Namespace) -> int:
    from promptops.cli.serve import redact
    from promptops.domain import users

    with _database(args) as (settings, db):
        with db.read() as session:
            email = users.require_user(session, args.email).email  # before asking
        password = read_new_password()
        hashed = users.hash_password(password, password_hasher(settings))  # outside the write
        with db.write() as session:
            ended = users.set_password(session, users.require_user(session, email), hashed)
    print(
        f"password of {email} changed in {redact(settings.database_url)};"
        f" {ended} session{'' if ended == 1 else 's'} signed out",
        file=sys.stderr,
    )
    return 0


def _set_disabled(args: argparse.Namespace, disabled: bool) -> int:
    from promptops.domain import users

    with _database(args) as (_, db), db.write() as session:
        user = users.require_user(session, args.email)
        changed = users.set_disabled(
            session, None, user, disabled, force=getattr(args, "force", False)
        )
        email = user.email
    state = "disabled" if disabled else "enabled"
    if not changed:
        print(f"user {email} was already {state}", file=sys.stderr)
    elif disabled:
        print(f"user {email} disabled: it cannot sign in, its sessions ended", file=sys.stderr)
    else:
        print(f"user {email} enabled: it can sign in again", file=sys.stderr)
    return 0


def cmd_users_disable(args: argparse.Namespace) -> int:
    return _set_disabled(args, True)


def cmd_users_enable(args: argparse.Namespace) -> int:
    return _set_disabled(args, False)


def cmd_users_list(args: argparse.Namespace) -> int:
    from promptops.domain import users
    from promptops.domain.access import Actor

    with _database(args) as (_, db), db.read() as session:
        roles = users.memberships(session)
        rows: list[dict[str, Any]] = [
            {
                "email": u.email,
                "is_instance_admin": u.is_instance_admin,
                "disabled": u.disabled,
                "created_at": u.created_at.isoformat(),
                "projects": [
                    {"project_id": p.id, "project_name": p.name, "role": role}
                    for p, role in roles.get(u.id, [])
                ],
            }
            for u in users.list_users(session, Actor(label="system", role="admin"))
        ]
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
        return 0
    table = [["EMAIL", "INSTANCE_ADMIN", "DISABLED", "PROJECTS"]]
    for row in rows:
        projects = ",".join(f"{p['project_id']}:{p['role']}" for p in row["projects"])
        if row["is_instance_admin"]:
            projects = ",".join(filter(None, [projects, "(owner of every project)"]))
        yes_no = ["yes" if row[c] else "no" for c in ("is_instance_admin", "disabled")]
        table.append([row["email"], *yes_no, projects or "-"])
    widths = [max(len(r[i]) for r in table) for i in range(3)]
    for r in table:
        print("  ".join([*(v.ljust(w) for v, w in zip(r, widths, strict=False)), r[3]]))
    return 0


def add_user_commands(sub: Any) -> None:
    users = sub.add_parser("users", help="dashboard users (on the database directly)")
    usub = users.add_subparsers(dest="action", required=True, metavar="ACTION", help="what to do")
    create = usub.add_parser("create", help="create a user (prints a generated password)")
    db_help = "default: PROMPTOPS_DATABASE_URL or ./promptops.db"
    create.add_argument("--database-url", help=db_help)
    create.add_argument("--email", required=True, help="the new user's email (their sign-in)")
    create.add_argument(
        "--password", help="default: generated and printed once; '-' asks for it on the terminal"
    )
    create.add_argument("--project-id", help="give the user a role in this project")
    create.add_argument("--role", choices=MEMBER_ROLES, help="with --project-id")
    create.add_argument(
        "--instance-admin", action="store_true", help="may create projects, users, any key"
    )
    create.set_defaults(func=cmd_users_create)

    listing = usub.add_parser("list", help="users, their roles in projects, disabled or not")
    listing.add_argument("--database-url", help=db_help)
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(func=cmd_users_list)

    setpw = usub.add_parser(
        "set-password",
        help="set a user's password (asked twice, or one line read from stdin when it is not"
        " a terminal) and sign the user out of every session",
    )
    setpw.add_argument("--database-url", help=db_help)
    setpw.add_argument("--email", required=True, help="whose password to set")
    setpw.set_defaults(func=cmd_users_set_password)

    disable = usub.add_parser(
        "disable", help="the user can no longer sign in; its sessions end at once"
    )
    disable.add_argument("--database-url", help=db_help)
    disable.add_argument("--email", required=True, help="the user to disable")
    disable.add_argument(
        "--force", action="store_true", help="even the last enabled instance admin user"
    )
    disable.set_defaults(func=cmd_users_disable)

    enable = usub.add_parser("enable", help="let a disabled user sign in again")
    enable.add_argument("--database-url", help=db_help)
    enable.add_argument("--email", required=True, help="the user to enable")
    enable.set_defaults(func=cmd_users_enable)
