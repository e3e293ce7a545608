"""First start creates the instance admin user (printed once, or from the environment) who
owns the demo project; `promptops users create` adds users on the database directly."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import select

from promptops.cli.main import main
from promptops.cli.serve import _bootstrap
from promptops.db.models import Membership, Project, User
from promptops.db.session import Database
from promptops.domain import users
from promptops.server.config import Settings


def _settings(tmp_path: Path, **extra: object) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'p.db'}",
        bcrypt_rounds=4,
        argon2_time_cost=1,
        argon2_memory_kib=64,
        **extra,  # type: ignore[arg-type]
    )


def _grab(out: str, label: str) -> str:
    match = re.search(rf"^  {label}:\s+(\S+)$", out, re.M)
    assert match, out
    return match.group(1)


def test_first_start_prints_the_admin_sign_in_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path)
    _bootstrap(settings, demo=True)
    out = capsys.readouterr().out
    assert "Dashboard sign-in for the instance admin (password shown once" in out
    email, password = _grab(out, "email"), _grab(out, "password")
    assert email == "admin@localhost" and len(password) >= 12
    db = Database(settings.database_url)
    try:
        with db.read() as session:
            user = users.find_by_email(session, email)
            assert user is not None and user.is_instance_admin
            assert users.verify_password(user, password)
            (project,) = session.scalars(select(Project)).all()
            role = session.get(Membership, (user.id, project.id))
            assert role is not None and role.role == "owner"  # the demo is the admin's
    finally:
        db.dispose()
    _bootstrap(settings, demo=True)
    again = capsys.readouterr().out
    assert password not in again
    assert "admin user: admin@localhost (its password was shown at first start)" in again


def test_admin_credentials_from_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = _settings(tmp_path, admin_email="Ops@Example.com", admin_password="a-long-secret-1")
    _bootstrap(settings, demo=False)
    out = capsys.readouterr().out
    assert "admin user: ops@example.com (password from PROMPTOPS_ADMIN_PASSWORD)" in out
    assert "a-long-secret-1" not in out


def test_production_mode_refuses_a_placeholder_admin_password() -> None:
    with pytest.raises(ValueError, match="PROMPTOPS_ADMIN_PASSWORD"):
        Settings(mode="production", admin_password="password")


def test_users_create_command(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = _settings(tmp_path)
    _bootstrap(settings, demo=True)
    capsys.readouterr()
    # The command writes its flags into the environment: monkeypatch restores it afterwards.
    monkeypatch.setenv("PROMPTOPS_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("PROMPTOPS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("PROMPTOPS_ARGON2_MEMORY_KIB", "64")
    db = Database(settings.database_url)
    try:
        with db.read() as session:
            project_id = session.scalars(select(Project.id)).one()
        url = settings.database_url
        code = main(
            [
                "users",
                "create",
                "--database-url",
                url,
                "--email",
                "Ed@Example.com",
                "--project-id",
                project_id,
                "--role",
                "editor",
            ]
        )
        assert code == 0
        captured = capsys.readouterr()
        password = captured.out.strip().rsplit(" ", 1)[-1]
        assert "user ed@example.com created" in captured.err
        with db.read() as session:
            user = users.find_by_email(session, "ed@example.com")
            assert user is not None and users.verify_password(user, password)
            assert users.effective_role(session, user, project_id) == "editor"
        # Errors are reported, not raised.
        assert (
            main(
                [
                    "users",
                    "create",
                    "--database-url",
                    url,
                    "--email",
                    "ed@example.com",
                    "--password",
                    "long-enough-1",
                ]
            )
            == 1
        )
        assert "already exists" in capsys.readouterr().err
        assert (
            main(
                [
                    "users",
                    "create",
                    "--database-url",
                    url,
                    "--email",
                    "x@example.com",
                    "--role",
                    "viewer",
                ]
            )
            == 1
        )
        with db.read() as session:
            assert session.scalar(select(User).where(User.email == "x@example.com")) is None
    finally:
        db.dispose()
