"""Pydantic validation errors as the contract's one error: :class:`InvalidInputError`
(422) naming the first problem's field, with the same message wherever input arrives (a
request body, a dashboard form, a CLI file, a domain call)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from promptops.errors import InvalidInputError

__all__ = ["describe", "field_of", "parse"]

M = TypeVar("M", bound=BaseModel)

_SKIP = ("body", "query", "path", "header")
# Tags of the contract's unions that pydantic puts in an error's location after the union's
# own (a list index or a field name); they are not fields the caller wrote.
_TAGS = {"message", "placeholder", "text", "json_object", "json_schema"}
# An agent's steps (contract/agents.py) are a dict of a union: the tag follows the step name.
_STEP_TAGS = {"prompt", "http", "branch", "map", "wait"}
# A sync push's files (contract/sync.py) are a list of a union (prompt files, agent files).
_FILE_TAGS = {"prompt", "agent"}
_NAMED = re.compile(r"([a-z_]+(?:\.[0-9A-Za-z_-]+)*): ")


def field_of(loc: Sequence[Any]) -> str | None:
    """``("body", "messages", 2, "message", "content")`` -> ``"messages.2.content"``."""
    parts: list[str] = []
    for i, part in enumerate(loc):
        if part in _SKIP and not parts:
            continue
        previous = loc[i - 1] if i else None
        # A message's tag follows its index even when the entry itself is wrong (not an
        # object: the error is at the tag); the response format's is followed by its field.
        tagged = isinstance(previous, int) or (previous == "response_format" and i + 1 < len(loc))
        if part in _TAGS and tagged:  # a tag, not the field itself
            continue
        if part in _FILE_TAGS and i >= 2 and loc[i - 2] == "files" and not parts[:-2]:
            continue
        # the steps of an agent's definition: at the top, or a file's ``definition``
        top = not parts[:-2] or parts[-3] == "definition"
        if part in _STEP_TAGS and i >= 2 and loc[i - 2] == "steps" and top:
            continue
        parts.append(str(part))
    return ".".join(parts) or None


def describe(errors: Sequence[Mapping[str, Any]]) -> tuple[str, str | None]:
    """(message, field) of the first of pydantic's ``errors()``; the count of the others."""
    first: Mapping[str, Any] = errors[0] if errors else {"msg": "invalid value"}
    field = field_of(tuple(first.get("loc", ())))
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    named = _NAMED.match(message)
    if field and field.split(".")[-1] == "definition" and named:
        # an agent definition's own check names the step and field inside it
        field = f"{field}.{named.group(1)}"
        message = message[named.end() :]
    if field:
        message = f"{field}: {message}"
    else:  # a rule across fields names its field first ("tools: ..."): the field is that
        field = named.group(1) if named else None
    if len(errors) > 1:
        message += f" (and {len(errors) - 1} more problem(s))"
    return message, field


def parse(model: type[M], data: Any) -> M:
    """``model`` validated from ``data``, or :class:`InvalidInputError`."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        message, field = describe(exc.errors(include_url=False))
        raise InvalidInputError(message, field=field) from None
