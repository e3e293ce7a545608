"""`promptops users set-password | list | disable | enable`, on the server's own database
while it runs: what they do to sign-in, to live sessions and to personal tokens."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from promptops.cli import users as users_cli
from promptops.cli.http import CliError
from promptops.cli.main import main
from promptops.db.models import AuditEvent
from promptops.domain import users
from tests.dashboard.support import Person, Site
from tests.support import Project

NEW = "reset by the operator"


@pytest.fixture
def cli(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Any:
    """Runs `promptops ...` in-process on the test database; stdin is the given text."""
    # The command writes its flags into the environment: monkeypatch restores it afterwards.
    monkeypatch.setenv("PROMPTOPS_DATABASE_URL", database_url)
    monkeypatch.setenv("PROMPTOPS_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("PROMPTOPS_ARGON2_MEMORY_KIB", "64")
    capsys.readouterr()

    def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))  # not a terminal
        code = main(["users", *argv, "--database-url", database_url])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def test_set_password_reads_stdin_and_ends_every_session(
    app: Any, cli: Any, site: Site, people: dict[str, Person], project: Project
) -> None:
    editor = people["editor"]
    one, two = site.signed_in(editor), site.signed_in(editor)
    stolen = one.session_cookie
    code, out, err = cli("set-password", "--email", "Editor@Example.com", stdin=NEW + "\n")
    assert code == 0, err
    assert out == "" and NEW not in err
    assert "password of editor@example.com changed" in err and "2 sessions signed out" in err
    # Every old session is dead at once, for pages and for the API.
    for b in (one, two):
        assert b.get("/account").status_code == 303
    r = site.browser().get(
        "/v1/prompts",
        headers={"X-PromptOps-Project": project.id, "Cookie": f"promptops_session={stolen}"},
    )
    assert r.status_code == 401
    assert site.browser().login(editor.email, editor.password).status_code == 401
    assert site.browser().login(editor.email, NEW).status_code == 303
    with app.state.db.read() as session:
        event = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "user.password_changed")
        ).one()
    assert (event.actor, event.target, event.after) == (
        "system",
        "editor@example.com",
        {"sessions_ended": 2},
    )


def test_set_password_takes_no_password_from_argv(
    cli: Any, people: dict[str, Person], site: Site, capsys: pytest.CaptureFixture[str]
) -> None:
    editor = people["editor"]
    with pytest.raises(SystemExit) as exc:
        main(["users", "set-password", "--email", editor.email, "--password", NEW])
    assert exc.value.code == 2
    assert "unrecognized arguments: --password" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["users", "set-password", "--help"])
    assert "--password" not in capsys.readouterr().out
    assert site.browser().login(editor.email, editor.password).status_code == 303


def test_set_password_errors_change_nothing(
    cli: Any, site: Site, people: dict[str, Person]
) -> None:
    editor = people["editor"]
    b = site.signed_in(editor)
    code, _, err = cli("set-password", "--email", editor.email, stdin="short\n")
    assert code == 1 and "password is too short: use at least 8 characters" in err
    code, _, err = cli("set-password", "--email", editor.email, stdin="")
    assert code == 1 and "no input (end of file)" in err
    code, _, err = cli("set-password", "--email", "nobody@example.com", stdin=NEW + "\n")
    assert code == 1 and "no user with email 'nobody@example.com'" in err
    assert b.get("/account").status_code == 200
    assert site.browser().login(editor.email, editor.password).status_code == 303


def test_set_password_from_a_real_pipe(
    database_url: str, app: Any, people: dict[str, Person]
) -> None:
    env = {
        **os.environ,
        "PROMPTOPS_ARGON2_TIME_COST": "1",
        "PROMPTOPS_ARGON2_MEMORY_KIB": "64",
        "PYTHONPATH": os.pathsep.join(sys.path),
    }
    done = subprocess.run(
        [
            *(sys.executable, "-m", "promptops.cli.main", "users", "set-password"),
            *("--email", people["viewer"].email, "--database-url", database_url),
        ],
        input=NEW + "\r\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    with app.state.db.read() as session:
        user = users.find_by_email(session, people["viewer"].email)
        assert users.verify_password(user, NEW, app.state.users.hasher)


def test_on_a_terminal_the_password_is_asked_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stdin", Terminal())
    answers = iter([NEW, NEW])
    assert users_cli.read_new_password(lambda _: next(answers)) == NEW
    answers = iter([NEW, NEW + "x"])
    with pytest.raises(CliError, match="the two passwords differ"):
        users_cli.read_new_password(lambda _: next(answers))


def test_a_disabled_user_cannot_sign_in_and_its_sessions_stop(
    app: Any, cli: Any, site: Site, people: dict[str, Person], project: Project
) -> None:
    editor = people["editor"]
    b = site.signed_in(editor)
    api_call = {"headers": {"X-PromptOps-Project": project.id, "X-CSRF-Token": b.csrf or ""}}
    assert b.get("/v1/prompts", **api_call).status_code == 200
    code, _, err = cli("disable", "--email", editor.email)
    assert code == 0 and "user editor@example.com disabled" in err
    # The live session is refused on its very next request (page and API) ...
    assert b.get("/account").status_code == 303
    assert b.get("/v1/prompts", **api_call).status_code == 401
    # ... the right password no longer signs in, with a clear message ...
    r = site.browser().login(editor.email, editor.password)
    assert r.status_code == 401 and "this user is disabled" in r.text
    # ... a wrong password still just says wrong (nothing told to a guesser) ...
    r = site.browser().login(editor.email, "a guess")
    assert "wrong email or password" in r.text and "disabled" not in r.text
    # ... and the personal token is refused too.
    r = site.browser().get("/v1/prompts", headers=editor.headers(project.id))
    assert r.status_code == 401 and "disabled" in r.json()["error"]["message"]
    code, _, err = cli("disable", "--email", editor.email)
    assert code == 0 and "already disabled" in err

    code, _, err = cli("enable", "--email", editor.email)
    assert code == 0 and "enabled" in err
    assert b.get("/account").status_code == 303  # the old session stays ended
    assert site.browser().login(editor.email, editor.password).status_code == 303
    with app.state.db.read() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.target == editor.email)
        ).all()
    assert "user.disabled" in actions and "user.enabled" in actions


def test_the_last_enabled_instance_admin_needs_force(
    cli: Any, site: Site, people: dict[str, Person]
) -> None:
    root = people["root"]
    code, _, err = cli("disable", "--email", root.email)
    assert code == 1
    assert "last enabled instance admin user" in err and "--force" in err
    assert site.browser().login(root.email, root.password).status_code == 303
    code, _, err = cli("disable", "--email", root.email, "--force")
    assert code == 0
    assert site.browser().login(root.email, root.password).status_code == 401


def test_users_list_table_and_json(
    cli: Any, people: dict[str, Person], project: Project, other: Project
) -> None:
    cli("disable", "--email", people["viewer"].email)
    code, out, _ = cli("list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["EMAIL", "INSTANCE_ADMIN", "DISABLED", "PROJECTS"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert len(rows) == len(people)
    assert rows["editor@example.com"] == ["editor@example.com", "no", "no", f"{project.id}:editor"]
    assert rows["viewer@example.com"][1:] == ["no", "yes", f"{project.id}:viewer"]
    assert rows["root@example.com"][1:3] == ["yes", "no"]
    assert (
        "(owner of every project)" in lines[[r.split()[0] for r in lines].index("root@example.com")]
    )

    code, out, _ = cli("list", "--json")
    assert code == 0
    listed = {u["email"]: u for u in json.loads(out)}
    assert sorted(listed) == sorted(p.email for p in people.values())
    outsider = listed["outsider@example.com"]
    assert outsider["is_instance_admin"] is False and outsider["disabled"] is False
    assert outsider["projects"] == [
        {"project_id": other.id, "project_name": "Other", "role": "owner"}
    ]
    assert listed["viewer@example.com"]["disabled"] is True
    assert listed["root@example.com"]["is_instance_admin"] is True


DOCS = Path(__file__).resolve().parents[2] / "docs" / "dashboard.md"


@pytest.mark.slow
def test_the_documented_commands_run(
    database_url: str, app: Any, people: dict[str, Person], tmp_path: Path
) -> None:
    """The `promptops users` block of docs/dashboard.md, run as it stands by bash."""
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Passwords, sessions and disabled users") :]
    block = re.search(r"^```bash\n(.*?)^```$", section, re.S | re.M)
    assert block is not None and "users set-password" in block.group(1)
    with app.state.db.write() as session:
        h = app.state.users.hasher
        users.create_user(session, None, email="ada@example.com", password="ada-first", hasher=h)
    shim = tmp_path / "promptops"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m promptops.cli.main "$@"\n')
    shim.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{tmp_path}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": os.pathsep.join(sys.path),
        "PROMPTOPS_DATABASE_URL": database_url,
        "PROMPTOPS_ARGON2_TIME_COST": "1",
        "PROMPTOPS_ARGON2_MEMORY_KIB": "64",
    }
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.group(1)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ada@example.com") >= 2  # the table and the JSON
    assert "password of ada@example.com changed" in done.stderr
    with app.state.db.read() as session:
        ada = users.find_by_email(session, "ada@example.com")
        assert ada is not None and not ada.disabled
        assert users.verify_password(ada, "a-new-password-1", app.state.users.hasher)
