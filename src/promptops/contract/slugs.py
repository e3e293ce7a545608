"""The slug rule (prompts, snippets): 1-100 lowercase letters, digits, ``-`` and ``_``,
starting and ending with a letter or digit. The API's bodies, the dashboard's forms and the
domain all check a slug here, with the same message."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, StringConstraints

from promptops.contract.text import clean_text
from promptops.errors import InvalidInputError

__all__ = ["SLUG_PATTERN", "Slug", "check_slug", "slug_problem"]

SLUG_PATTERN = re.compile(r"^[a-z0-9](?:[a-z0-9_-]{0,98}[a-z0-9])?$")


def slug_problem(slug: str) -> str | None:
    """What is wrong with ``slug`` (None: nothing)."""
    if SLUG_PATTERN.match(slug):
        return None
    return (
        f"invalid slug {slug[:60]!r}: use 1-100 lowercase letters, digits, '-' and '_',"
        " starting and ending with a letter or digit"
    )


def check_slug(slug: str, field: str = "slug") -> str:
    """``slug``, or :class:`InvalidInputError` naming ``field``."""
    problem = slug_problem(slug)
    if problem is not None:
        raise InvalidInputError(f"{field}: {problem}", field=field)
    return slug


def _slug(value: str) -> str:
    problem = slug_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100),
    Field(strict=True),
    AfterValidator(clean_text),
    AfterValidator(_slug),
]
