"""The one check of text that reaches the database: every input goes through it.

PostgreSQL cannot store or even compare a NUL character (``UntranslatableCharacter``: a
500 instead of a 422), and no database stores a lone surrogate faithfully. JSON bodies
(pydantic models), query strings, path parameters and headers (``promptops.server.guard``),
dashboard forms and log records all call these functions, so the rule and its messages
live here only.
"""

from __future__ import annotations

import math
from typing import Any

from promptops.errors import InvalidInputError

__all__ = [
    "MAX_JSON_DEPTH",
    "NUL",
    "SURROGATE",
    "check_text",
    "clean_json",
    "clean_optional_text",
    "clean_text",
    "encoded_json_problem",
    "text_problem",
]

NUL = "must not contain NUL (\\u0000) characters"
SURROGATE = "must be valid Unicode (lone surrogate found)"
NOT_FINITE = "must not contain NaN or infinite numbers"
MAX_JSON_DEPTH = 32


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored or compared, or None when it can."""
    if "\x00" in value:
        return NUL
    if value.isascii():
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return SURROGATE
    return None


def clean_text(value: str) -> str:
    """For pydantic validators: ``value``, or ValueError with the problem."""
    problem = text_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def clean_optional_text(value: str | None) -> str | None:
    return None if value is None else clean_text(value)


def check_text(value: str, field: str) -> str:
    """For domain code and forms: ``value``, or a 422 naming ``field``."""
    problem = text_problem(value)
    if problem is not None:
        raise InvalidInputError(f"{field}: {problem}", field=field)
    return value


def clean_json(value: Any, depth: int = 0) -> Any:
    """A JSON value with only storable text (keys too), finite numbers, bounded depth."""
    if depth > MAX_JSON_DEPTH:
        raise ValueError(f"is nested more than {MAX_JSON_DEPTH} levels deep")
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(NOT_FINITE)
    if isinstance(value, dict):
        for key, item in value.items():
            clean_text(key)
            clean_json(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            clean_json(item, depth + 1)
    return value


def encoded_json_problem(encoded: str) -> str | None:
    """:func:`text_problem` for text already encoded as JSON (log records are checked once
    encoded, which is cheaper than walking them): the encoder writes NUL as ``\\u0000``, and
    a backslash typed in the text is escaped too, so a match is confirmed by counting the
    backslashes before it."""
    if not encoded.isascii():
        try:
            encoded.encode("utf-8")
        except UnicodeEncodeError:
            return SURROGATE
    start = encoded.find("\\u0000")
    while start != -1:
        backslashes = 0
        i = start - 1
        while i >= 0 and encoded[i] == "\\":
            backslashes += 1
            i -= 1
        if backslashes % 2 == 0:
            return NUL
        start = encoded.find("\\u0000", start + 1)
    return None
