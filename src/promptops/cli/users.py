"""`promptops users create`: dashboard users, made on the database directly (like
`migrate`), plus the lines `promptops serve` prints about the instance admin user."""

from __future__ import annotations

import argparse
import getpass
import secrets
import sys
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
    from promptops.cli.serve import _redact, _server_settings

    settings = _server_settings(args)
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
    print(f"user {email} created in {_redact(settings.database_url)}", file=sys.stderr)
    if args.project_id is not None:
        print(f"  role {args.role} in project {args.project_id}", file=sys.stderr)
    if generated:
        print(f"password (shown once): {password}")
    return 0


def add_user_commands(sub: Any) -> None:
    users = sub.add_parser("users", help="dashboard users (on the database directly)")
    usub = users.add_subparsers(dest="action", required=True)
    create = usub.add_parser("create", help="create a user (prints a generated password)")
    create.add_argument("--database-url", help="default: PROMPTOPS_DATABASE_URL or ./promptops.db")
    create.add_argument("--email", required=True)
    create.add_argument(
        "--password", help="default: generated and printed once; '-' asks for it on the terminal"
    )
    create.add_argument("--project-id", help="give the user a role in this project")
    create.add_argument("--role", choices=MEMBER_ROLES, help="with --project-id")
    create.add_argument(
        "--instance-admin", action="store_true", help="may create projects, users, any key"
    )
    create.set_defaults(func=cmd_users_create)
