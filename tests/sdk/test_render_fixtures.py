"""Every render fixture of ``promptops/contract/fixtures/render`` against the Python engine."""

from __future__ import annotations

from typing import Any

import pytest

from promptops.errors import (
    MissingVariablesError,
    TemplateError,
    TemplateSyntaxError,
    UnknownVariablesError,
    UnresolvedPartialError,
)
from promptops.templating import Template
from tests.support import CONTRACT_FIXTURES, contract_fixture_cases

FIXTURES = CONTRACT_FIXTURES / "render"
KINDS: dict[str, type[TemplateError]] = {
    "syntax": TemplateSyntaxError,
    "missing": MissingVariablesError,
    "unknown": UnknownVariablesError,
    "partial": UnresolvedPartialError,
}


CASES = contract_fixture_cases("render")


def test_the_fixtures_are_there() -> None:
    files = {path.name for path in FIXTURES.glob("*.json")}
    assert {"interpolation.json", "sections.json", "partials.json", "promptops.json"} <= files
    assert len(CASES) > 150


@pytest.mark.parametrize("case", CASES)
def test_render_fixture(case: dict[str, Any]) -> None:
    error = case.get("error")
    if error is not None and error["kind"] == "syntax":
        with pytest.raises(TemplateSyntaxError) as syntax:
            Template(case["template"])
        assert (syntax.value.line, syntax.value.column) == (error["line"], error["column"])
        return
    template = Template(case["template"])
    if "variables" in case:
        assert list(template.variables) == case["variables"]
    partials = {key: Template(text) for key, text in case.get("partials", {}).items()}
    # twice: a first render walks the node list, later ones run the generated function
    for _ in range(2):
        if error is None:
            assert (
                template.render(case["data"], partials, strict=case.get("strict", True))
                == (case["expected"])
            )
            continue
        with pytest.raises(KINDS[error["kind"]]) as caught:
            template.render(case["data"], partials, strict=case.get("strict", True))
        exc = caught.value
        if isinstance(exc, MissingVariablesError | UnknownVariablesError):
            assert exc.names == error["names"]
        elif isinstance(exc, UnresolvedPartialError):
            assert exc.partial.key == error["key"]
