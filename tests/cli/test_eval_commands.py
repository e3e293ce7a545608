"""`promptops evals push|list` and the evals in `versions show`, against a live server: one
result from flags, a JUnit report as one result per suite, a version named by its
environment; malformed reports and XML bombs are refused with a clear error and send
nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from promptops.cli.http import CliError
from promptops.cli.junit import read_report
from tests.cli.test_commands import run
from tests.server.helpers import row_counts
from tests.support import Api, Project

REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="tone" tests="3" failures="1" errors="0" time="0.5">
    <testcase name="a"/><testcase name="b"/>
    <testcase name="c"><failure message="too curt"/></testcase>
  </testsuite>
  <testsuite name="safety" tests="3" time="0.2">
    <testcase name="x"/><testcase name="y"/><testcase name="z"><skipped/></testcase>
  </testsuite>
</testsuites>
"""
BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<testsuite name="&lol3;" tests="1"><testcase name="a"/></testsuite>
"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE t [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<testsuite name="&x;" tests="1"><testcase name="a"/></testsuite>
"""


@pytest.fixture
def greeting(api: Api, project: Project) -> str:
    api.new_prompt(project.key)
    api.new_version(project.key)
    api.new_version(project.key)
    return "greeting"


def test_push_one_result_list_and_show(
    server: str,
    api: Api,
    project: Project,
    greeting: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PROMPTOPS_BASE_URL", server)
    monkeypatch.setenv("PROMPTOPS_API_KEY", project.key)
    code, out, err = run(
        capsys,
        "evals",
        "push",
        "greeting",
        "1",
        "--name",
        "quality",
        "--score",
        "0.75",
        "--threshold",
        "0.7",
        "--url",
        "https://ci.example.com/run/9",
        "--ci-run-id",
        "9",
        "--commit",
        "abcdef1",
    )
    assert code == 0, err
    assert "greeting v1: recorded 1 eval result(s)" in out
    assert "quality: 0.75 passed (threshold 0.7)" in out  # passed: score >= threshold
    code, out, err = run(
        capsys, "evals", "push", "greeting", "v1", "--name", "safety", "--score", "1", "--json"
    )
    assert code == 0, err
    [made] = json.loads(out)
    assert (made["name"], made["passed"], made["version"]) == ("safety", False, 1)
    code, out, _ = run(
        capsys, "evals", "push", "greeting", "1", "--name", "safety", "--score", "1", "--passed"
    )
    assert code == 0 and "safety: 1 passed" in out
    code, out, _ = run(capsys, "evals", "list", "greeting", "1", "--json")
    listed = json.loads(out)
    assert [(r["name"], r["passed"]) for r in listed] == [
        ("safety", True),
        ("safety", False),
        ("quality", True),
    ]
    assert listed[2]["url"] == "https://ci.example.com/run/9" and listed[2]["commit"] == "abcdef1"
    code, out, _ = run(capsys, "evals", "list", "greeting", "1")
    assert out.splitlines()[0].split()[:3] == ["NAME", "SCORE", "PASSED"]
    code, out, _ = run(capsys, "versions", "show", "greeting", "1")
    assert code == 0
    shown = out.split("evals:\n", 1)[1].splitlines()[:2]
    assert shown == [
        "  quality: 0.75 passed (threshold 0.7)  https://ci.example.com/run/9",
        "  safety: 1 passed",  # the latest of a name
    ]
    code, out, _ = run(capsys, "versions", "show", "greeting", "2")
    assert "evals: -" in out
    code, out, _ = run(capsys, "versions", "show", "greeting", "1", "--json")
    assert "evals" not in json.loads(out)  # --json: the API's version, as it is
    code, out, _ = run(capsys, "evals", "list", "greeting", "2")
    assert out.strip() == "greeting v2: no eval results"


def test_push_a_junit_report_to_the_version_of_an_environment(
    server: str,
    api: Api,
    project: Project,
    greeting: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    admin_key: str,
) -> None:
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    r = api.as_(staging).post("/v1/prompts/greeting/deployments/staging", json={"version": 1})
    assert r.status_code == 200
    report = tmp_path / "evals.xml"
    report.write_text(REPORT)
    common = ["--server", server, "--key", staging]
    code, out, err = run(
        capsys, "evals", "push", "greeting", "staging", "--junit", str(report), *common
    )
    assert code == 0, err
    assert out.splitlines() == [
        "greeting v1: recorded 2 eval result(s)",
        "  safety: 1 passed",
        "  tone: 0.666667 FAILED",
    ]
    listed = api.as_(staging).get("/v1/prompts/greeting/versions/1/evals").json()["data"]
    by_name = {r["name"]: r for r in listed}
    assert by_name["tone"]["details"] == {
        "junit": {"tests": 3, "failures": 1, "errors": 0, "skipped": 0, "time": 0.5}
    }
    assert by_name["safety"]["details"]["junit"]["skipped"] == 1
    # --name renames a one-suite report, and prefixes the suites of a bigger one.
    code, _, err = run(
        capsys, "evals", "push", "greeting", "1", "--junit", str(report), "--name", "ci", *common
    )
    assert code == 0, err
    names = [
        r["name"]
        for r in api.as_(staging).get("/v1/prompts/greeting/versions/1/evals").json()["data"]
    ]
    assert names[:2] == ["ci/safety", "ci/tone"]
    code, _, err = run(
        capsys, "evals", "push", "greeting", "production", "--junit", str(report), *common
    )
    assert code == 1 and "nothing is deployed in production" in err


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (BOMB, "refused: the XML declares a DTD or entities"),
        (EXTERNAL, "refused: the XML declares a DTD or entities"),
        ("<testsuites><testsuite name='a'", "not well-formed XML"),
        ("", "not well-formed XML"),
        ("<html><body/></html>", "not a JUnit report (root <html>"),
        ("<testsuites/>", "no test suite with tests"),
        ("<testsuite tests='1'><testcase name='a'/></testsuite>", "has no name"),
        ("<testsuite name='a' tests='many'/>", "tests='many' is not a whole number"),
        (
            "<testsuites><testsuite name='a'><testcase/></testsuite>"
            "<testsuite name='a'><testcase/></testsuite></testsuites>",
            "suite name(s) a appear more than once",
        ),
    ],
    ids=[
        "bomb",
        "external-entity",
        "truncated",
        "empty",
        "html",
        "no-suites",
        "no-name",
        "bad-count",
        "twice",
    ],
)
def test_bad_reports_are_refused_before_anything_is_sent(
    text: str, problem: str, tmp_path: Path
) -> None:
    report = tmp_path / "r.xml"
    report.write_text(text)
    with pytest.raises(CliError) as caught:
        read_report(report)
    assert problem in caught.value.message and str(report) in caught.value.message


def test_a_bad_report_exits_1_and_records_nothing(
    server: str,
    app: Any,
    project: Project,
    greeting: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = tmp_path / "bomb.xml"
    report.write_text(BOMB)
    before = row_counts(app)
    common = ["--server", server, "--key", project.key]
    code, _, err = run(capsys, "evals", "push", "greeting", "1", "--junit", str(report), *common)
    assert code == 1 and err.startswith("error: ") and "DTD or entities" in err
    code, _, err = run(
        capsys, "evals", "push", "greeting", "1", "--junit", str(tmp_path / "none.xml"), *common
    )
    assert code == 1 and "cannot read" in err
    for argv in (
        ["--score", "1"],  # no name
        ["--name", "q"],  # no score
        ["--name", "q", "--score", "1", "--junit", str(report)],
        ["--junit", str(report), "--passed"],
    ):
        code, _, err = run(capsys, "evals", "push", "greeting", "1", *argv, *common)
        assert code == 1 and err.startswith("error: "), (argv, err)
    with pytest.raises(SystemExit) as usage:
        run(capsys, "evals", "push", "greeting", "1", "--name", "q", "--score", "nan", *common)
    assert usage.value.code == 2
    code, _, err = run(
        capsys, "evals", "push", "greeting", "1", "--name", "a  b", "--score", "1", *common
    )
    assert code == 1 and "eval name" in err
    # A report with one suite the contract refuses records none of its suites.
    mixed = tmp_path / "mixed.xml"
    mixed.write_text(
        "<testsuites><testsuite name='good'><testcase name='a'/></testsuite>"
        "<testsuite name='bad&quot;name'><testcase name='b'/></testsuite></testsuites>"
    )
    code, _, err = run(capsys, "evals", "push", "greeting", "1", "--junit", str(mixed), *common)
    assert code == 1 and "suite 'bad\"name'" in err and "eval name" in err
    assert row_counts(app) == before


def test_require_evals_then_promote_from_the_cli(
    server: str,
    api: Api,
    project: Project,
    greeting: str,
    admin_key: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    admin = ["--url", server, "--key", admin_key, "--project-id", project.id]
    code, out, err = run(
        capsys, "environments", "set", "staging", "--require-eval", "quality:0.8", *admin
    )
    assert code == 0, err
    assert out.strip() == "staging: not protected; required evals: quality >= 0.8"
    code, out, _ = run(capsys, "environments", "list", *admin)
    assert out.splitlines()[0] == "dev: not protected; required evals: -"
    code, _, err = run(capsys, "environments", "set", "dev", "--require-eval", "q:1", *admin)
    assert code == 1 and "HTTP 422" in err and "--require-eval" in err
    with pytest.raises(SystemExit):
        run(capsys, "environments", "set", "staging", "--require-eval", "quality", *admin)
    staging = api.new_key(admin_key, "staging", "write", project_id=project.id)
    common = ["--url", server, "--key", staging]
    code, _, err = run(capsys, "promote", "greeting", "--to", "staging", "--version", "2", *common)
    assert code == 1 and "HTTP 409" in err and "quality (no result" in err
    code, _, err = run(
        capsys,
        "evals",
        "push",
        "greeting",
        "2",
        "--name",
        "quality",
        "--score",
        "0.9",
        "--passed",
        "--server",
        server,
        "--key",
        staging,
    )
    assert code == 0, err
    code, _, err = run(capsys, "promote", "greeting", "--to", "staging", "--version", "2", *common)
    assert code == 0, err
    code, out, _ = run(capsys, "environments", "set", "staging", "--no-required-evals", *admin)
    assert out.strip() == "staging: not protected; required evals: -"
