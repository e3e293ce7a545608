"""JUnit XML reports as eval results: one result per test suite.

A report is untrusted input (a CI artefact anyone's pull request can shape), so it is read
with defusedxml: entity expansion (billion laughs), external entities and DTDs are refused,
not expanded. The root is ``<testsuites>`` or a single ``<testsuite>``; every suite that
holds test cases itself is one result, named after the suite:

- ``score`` = passed / run, where run = cases - skipped and passed = run - failures - errors
  (0 when nothing ran);
- ``passed`` = something ran and nothing failed or errored;
- ``details`` = the counts (``tests``, ``failures``, ``errors``, ``skipped``) and ``time``.

Counts come from the ``<testcase>`` elements (their ``<failure>``, ``<error>``,
``<skipped>`` children); a suite without cases falls back on its attributes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from promptops.cli.http import CliError

__all__ = ["MAX_REPORT_BYTES", "SuiteResult", "read_report"]

MAX_REPORT_BYTES = 20 * 1024 * 1024


@dataclass(frozen=True)
class SuiteResult:
    name: str
    score: float
    passed: bool
    details: dict[str, Any]


def read_report(path: Path) -> list[SuiteResult]:
    """The suites of the JUnit XML file at ``path``; CliError naming the file otherwise."""
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import fromstring
    except ImportError:  # pragma: no cover - a dependency of the package
        raise CliError("reading JUnit XML needs defusedxml (pip install defusedxml)") from None
    try:
        size = path.stat().st_size
        if size > MAX_REPORT_BYTES:
            raise CliError(f"{path}: {size} bytes; a JUnit report is read up to {MAX_REPORT_BYTES}")
        data = path.read_bytes()
    except OSError as exc:
        raise CliError(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        root = fromstring(data, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise CliError(
            f"{path}: refused: the XML declares a DTD or entities ({type(exc).__name__});"
            " a JUnit report needs neither"
        ) from None
    except ParseError as exc:
        raise CliError(f"{path}: not well-formed XML: {exc}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise CliError(f"{path}: not a JUnit report (root <{root.tag[:40]}>, not <testsuites>)")
    # Suites that hold cases, or leaf suites that only give counts (a suite of suites is
    # counted through its children).
    suites = [
        s
        for s in _suites(root)
        if s.find("testcase") is not None or (s.find("testsuite") is None and s.get("tests"))
    ]
    if not suites:
        raise CliError(f"{path}: the report has no test suite with tests")
    results = [_result(path, suite, i) for i, suite in enumerate(suites)]
    names = [r.name for r in results]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise CliError(f"{path}: suite name(s) {', '.join(twice)} appear more than once")
    return results


def _suites(root: Element) -> list[Element]:
    return [root] if root.tag == "testsuite" else list(root.iter("testsuite"))


def _count(path: Path, suite: Element, attribute: str) -> int:
    raw = suite.get(attribute, "0") or "0"
    try:
        value = int(raw)
    except ValueError:
        raise CliError(
            f"{path}: suite {suite.get('name', '?')[:60]!r}: {attribute}={raw[:20]!r} is not a"
            " whole number"
        ) from None
    if value < 0:
        raise CliError(f"{path}: suite {suite.get('name', '?')[:60]!r}: {attribute} < 0")
    return value


def _seconds(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _result(path: Path, suite: Element, index: int) -> SuiteResult:
    name = (suite.get("name") or "").strip()
    if not name:
        raise CliError(f"{path}: test suite {index + 1} has no name (a result needs one)")
    cases = suite.findall("testcase")
    if cases:
        tests = len(cases)
        failures = sum(c.find("failure") is not None for c in cases)
        errors = sum(c.find("error") is not None and c.find("failure") is None for c in cases)
        skipped = sum(
            c.find("skipped") is not None and c.find("failure") is None and c.find("error") is None
            for c in cases
        )
    else:
        tests, failures, errors, skipped = (
            _count(path, suite, a) for a in ("tests", "failures", "errors", "skipped")
        )
    ran = max(tests - skipped, 0)
    good = max(ran - failures - errors, 0)
    details: dict[str, Any] = {
        "tests": tests,
        "failures": failures,
        "errors": errors,
        "skipped": skipped,
    }
    time = _seconds(suite.get("time"))
    if time is not None:
        details["time"] = time
    return SuiteResult(
        name=name,
        score=round(good / ran, 6) if ran else 0.0,
        passed=ran > 0 and failures == 0 and errors == 0,
        details=details,
    )
