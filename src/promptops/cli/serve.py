"""`promptops serve` and `promptops migrate`: the server side of the CLI (needs [server])."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from promptops.cli.http import CliError
from promptops.cli.settings_flags import add_settings_flags, export_flags

__all__ = ["add_server_commands", "redact", "server_settings"]


def server_settings(args: argparse.Namespace) -> Any:
    try:
        from promptops.server.config import get_settings
    except ImportError as exc:  # the SDK-only install
        raise CliError(
            f"the server is not installed ({exc.name} missing): pip install 'promptops[server]'"
        ) from None
    # Flags become environment variables so that worker processes see the same settings.
    export_flags(args)
    try:
        return get_settings()
    except ValueError as exc:
        raise CliError(f"invalid configuration: {exc}") from None


def _bootstrap(settings: Any, demo: bool) -> None:
    from promptops.cli.users import admin_user_lines, password_hasher
    from promptops.db.session import Database, migrate
    from promptops.domain.bootstrap import (
        DEMO_SLUG,
        ensure_admin_key,
        ensure_admin_user,
        ensure_demo_project,
        missing,
        prepare,
    )

    migrate(settings.database_url)
    db = Database(settings.database_url)
    hasher = password_hasher(settings)
    try:
        with db.read() as session:
            todo = missing(session, admin_key=not settings.admin_key, demo=demo)
        # bcrypt/argon2 now, with no transaction open (not inside the write below).
        ready = prepare(
            todo, password=settings.admin_password, rounds=settings.bcrypt_rounds, hasher=hasher
        )
        with db.write() as session:
            admin = (
                None
                if settings.admin_key
                else ensure_admin_key(
                    session, rounds=settings.bcrypt_rounds, secret=ready.admin_key
                )
            )
            person = ensure_admin_user(
                session,
                email=settings.admin_email,
                password=settings.admin_password,
                hasher=hasher,
                prepared=ready,
            )
            made = (
                ensure_demo_project(
                    session,
                    rounds=settings.bcrypt_rounds,
                    owner_user_id=person.user_id,
                    secrets=ready.demo_keys,
                )
                if demo
                else None
            )
    finally:
        db.dispose()
    url = f"http://{settings.host}:{settings.port}"
    out = [
        f"PromptOps is starting on {url}",
        f"  database:   {redact(settings.database_url)}",
        f"  dashboard:  {url}/",
        f"  API docs:   {url}/docs",
    ]
    if settings.admin_key:
        out.append("  admin key:  from PROMPTOPS_ADMIN_KEY")
    elif admin:
        out += ["", "Instance admin key (shown once; store it now):", f"  {admin}"]
    else:
        out.append("  admin key:  created at first start (shown then; not stored in clear)")
    out += admin_user_lines(person, settings)
    if made:
        out += [
            "",
            f"Demo project created (id {made.project_id}) with prompt {DEMO_SLUG!r}:",
            f"  dev write key:        {made.write_key}",
            f"  dev read key:         {made.read_key}",
            f"  staging write key:    {made.staging_write_key}",
            f"  production write key: {made.production_write_key}",
            "",
            "Try it:",
            f'  curl -H "Authorization: Bearer {made.read_key}" \\',
            f"       {url}/v1/prompts/{DEMO_SLUG}/active",
        ]
    elif demo:
        out.append("  demo:       project exists (its keys were shown at first start)")
    print("\n".join(out), flush=True)


def redact(url: str) -> str:
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:***@{host}" if ":" in creds else url
    return url


def cmd_serve(args: argparse.Namespace) -> int:
    settings = server_settings(args)
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    if args.workers > 1 and settings.is_sqlite:
        raise CliError(
            "--workers > 1 needs PostgreSQL (processes share changes through LISTEN/NOTIFY);"
            " set PROMPTOPS_DATABASE_URL=postgresql://..."
        )
    from promptops.server import sqlite_lock

    try:  # held for this process's life (the app shares it); refuse a second server
        sqlite_lock.acquire(settings.database_url)
    except sqlite_lock.AlreadyServedError as exc:
        raise CliError(str(exc)) from None
    _bootstrap(settings, demo=settings.demo)
    import uvicorn

    uvicorn.run(
        "promptops.server.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=args.workers,
        log_level=settings.log_level,
        access_log=args.access_log,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = server_settings(args)
    from promptops.db.session import migrate

    migrate(settings.database_url)
    print(f"database at {redact(settings.database_url)} is up to date", file=sys.stderr)
    return 0


def add_server_commands(sub: Any) -> None:
    from promptops.cli.users import add_user_commands
    from promptops.cli.worker import add_worker_command

    add_user_commands(sub)
    add_worker_command(sub)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--database-url", help="default: PROMPTOPS_DATABASE_URL or ./promptops.db")

    serve = sub.add_parser(
        "serve",
        help="migrate, bootstrap and run the server",
        description="Migrate the database, create the instance admin key, user and demo"
        " project at first start (printing their keys once), and serve. Every setting is a"
        " flag here and a PROMPTOPS_* environment variable.",
    )
    serve.add_argument("--workers", type=int, default=1, help="server processes (default 1)")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    add_settings_flags(serve)  # --database-url, --port, --bcrypt-rounds, ... --no-demo
    serve.set_defaults(func=cmd_serve)

    mig = sub.add_parser("migrate", help="bring the database schema up to date")
    common(mig)
    mig.set_defaults(func=cmd_migrate)
