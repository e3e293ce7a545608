"""Expansion (promptops.templating.expand): the fixtures of contract/fixtures/resolve, and
every render fixture with partials: what expansion gives renders as the engine renders the
template with its partials, or expansion refuses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promptops.errors import TemplateError
from promptops.templating import SpliceError, Template, compile_template, expand
from tests.support import CONTRACT_FIXTURES, contract_fixture_cases

FIXTURES = CONTRACT_FIXTURES


@pytest.mark.parametrize("case", contract_fixture_cases("resolve"))
def test_expand_fixture(case: dict[str, Any]) -> None:
    if "error" in case:
        with pytest.raises(SpliceError) as caught:
            expand(case["template"], case["partials"])
        error = caught.value
        assert (error.key, error.line, error.column) == (
            case["error"]["key"],
            case["error"]["line"],
            case["error"]["column"],
        )
        return
    expanded = expand(case["template"], case["partials"])
    assert expanded == case["expected"]
    assert compile_template(expanded).partials == ()
    partials = {k: Template(v) for k, v in case["partials"].items()}
    original = Template(case["template"]).render(case["data"], partials, strict=False)
    assert Template(expanded).render(case["data"], strict=False) == original == case["rendered"]


RENDER_WITH_PARTIALS = [
    c
    for c in contract_fixture_cases("render")
    if c.values[0].get("partials")
    and "error" not in c.values[0]
    and "{{>node}}" not in json.dumps(c.values[0]["partials"])  # recursive: never expandable
]


@pytest.mark.parametrize("case", RENDER_WITH_PARTIALS)
def test_expansion_renders_as_the_engine(case: dict[str, Any]) -> None:
    try:
        expanded = expand(case["template"], case["partials"])
    except SpliceError:
        return  # refused: nothing served differs from the engine
    data, strict = case["data"], case.get("strict", True)
    assert Template(expanded).render(data, strict=False) == case["expected"]
    if strict:
        assert Template(expanded).render(data) == case["expected"]


def test_most_render_fixtures_with_partials_expand() -> None:
    done = 0
    for param in RENDER_WITH_PARTIALS:
        case = param.values[0]
        try:
            expand(case["template"], case["partials"])
            done += 1
        except TemplateError:
            pass
    assert done >= len(RENDER_WITH_PARTIALS) - 2 and done >= 10
