"""Every case of ``promptops/contract/fixtures/chat_render`` against ``Prompt.render``."""

from __future__ import annotations

from typing import Any

import pytest

from promptops.errors import (
    InputTypeError,
    MissingVariablesError,
    PlaceholderValueError,
    TemplateError,
    UnknownVariablesError,
    UnresolvedPartialError,
)
from promptops.sdk.prompt import Prompt
from tests.support import CONTRACT_FIXTURES, contract_fixture_cases

FIXTURES = CONTRACT_FIXTURES / "chat_render"
KINDS: dict[str, type[TemplateError]] = {
    "missing": MissingVariablesError,
    "unknown": UnknownVariablesError,
    "type": InputTypeError,
    "placeholder": PlaceholderValueError,
    "partial": UnresolvedPartialError,
}


CASES = contract_fixture_cases("chat_render")


def test_the_fixtures_are_there() -> None:
    files = {path.stem for path in FIXTURES.glob("*.json")}
    assert files == {"inputs", "legacy", "messages", "placeholders", "text"}
    assert (FIXTURES / "README.md").is_file()
    assert len(CASES) > 60
    ids = [case.id for case in CASES]  # "file: name"
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("case", CASES)
def test_chat_render_fixture(case: dict[str, Any]) -> None:
    assert_renders(Prompt.from_payload({"slug": "fixture", "version": 1, **case["prompt"]}), case)


def assert_renders(prompt: Prompt, case: dict[str, Any]) -> None:
    """``prompt.render(case["variables"])`` gives the case's ``expected`` or ``error``."""
    strict = case.get("strict", True)
    error = case.get("error")
    # twice: a template's first render walks its nodes, later ones run its generated function
    for _ in range(2):
        if error is None:
            assert prompt.render(case["variables"], strict=strict) == case["expected"]
            continue
        with pytest.raises(KINDS[error["kind"]]) as caught:
            prompt.render(case["variables"], strict=strict)
        exc = caught.value
        if isinstance(exc, MissingVariablesError | UnknownVariablesError):
            assert exc.names == error["names"]
        elif isinstance(exc, InputTypeError):
            assert (exc.name, exc.expected, exc.got) == (
                error["name"],
                error["expected"],
                error["got"],
            )
            assert exc.name in str(exc) and exc.expected in str(exc) and exc.got in str(exc)
        elif isinstance(exc, PlaceholderValueError):
            assert (exc.name, exc.index) == (error["name"], error.get("index"))
            assert exc.name in str(exc)
        else:
            assert isinstance(exc, UnresolvedPartialError)
            assert exc.partial.key == error["key"]
