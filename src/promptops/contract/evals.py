"""Eval results recorded on versions, and the evals a protected environment requires.

CI records one result per evaluation (``POST /v1/prompts/{slug}/versions/{n}/evals``):
its ``name``, a ``score``, whether it ``passed``, and where it came from. An environment's
``required_evals`` (``[{"name", "min_score"}]``) gate promotion there: the latest result of
each name must have passed with a score of at least ``min_score``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from promptops.contract.fields import Input, JSONObject, Output, Str

__all__ = [
    "MAX_DETAILS_BYTES",
    "MAX_REQUIRED_EVALS",
    "EvalCreate",
    "EvalName",
    "EvalResultList",
    "EvalResultOut",
    "RequiredEval",
    "RequiredEvals",
    "check_eval_name",
]

MAX_DETAILS_BYTES = 32_768
MAX_REQUIRED_EVALS = 20
_LIMIT = 1e15  # scores are compared and stored as doubles: no NaN, no infinity, no 1e308

# Letters, digits and a few separators (JUnit suite names such as "tests.test_tone (unit)"),
# single spaces inside: a name reads the same in a URL, a table and an error message.
EVAL_NAME_PATTERN = r"^[\w.:/@+#=,()\[\]-]+(?: [\w.:/@+#=,()\[\]-]+)*$"
EVAL_NAME_RULE = "1 to 100 letters, digits, spaces (single, inside) and . : / @ + # = , ( ) [ ] _ -"


def check_eval_name(value: str) -> str:
    if not (1 <= len(value) <= 100) or re.fullmatch(EVAL_NAME_PATTERN, value) is None:
        raise ValueError(f"an eval name is {EVAL_NAME_RULE} (got {value[:40]!r})")
    return value


EvalName = Annotated[str, Field(strict=True), AfterValidator(check_eval_name)]


def _finite(value: float) -> float:
    if not math.isfinite(value) or abs(value) > _LIMIT:
        raise ValueError(f"must be a finite number between -{_LIMIT:g} and {_LIMIT:g}")
    return float(value)


Score = Annotated[float, Field(strict=True), AfterValidator(_finite)]


def _bounded_details(value: dict[str, Any]) -> dict[str, Any]:
    size = len(json.dumps(value, ensure_ascii=False).encode())
    if size > MAX_DETAILS_BYTES:
        raise ValueError(f"is {size} bytes as JSON; at most {MAX_DETAILS_BYTES}")
    return value


def _http_url(value: str) -> str:
    lowered = value.lower()
    if not (lowered.startswith("https://") or lowered.startswith("http://")) or any(
        c.isspace() for c in value
    ):
        raise ValueError("must be an http:// or https:// URL without spaces (a link to the run)")
    return value


Url = Annotated[Str(2048, 1), AfterValidator(_http_url)]  # type: ignore[valid-type]
Commit = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-fA-F]{7,64}$"),
    Field(strict=True, description="A git commit id (7 to 64 hex digits)."),
]


class EvalCreate(Input):
    name: EvalName = Field(description=f"Which evaluation: {EVAL_NAME_RULE}.")
    score: Score = Field(description="Its score (any finite number; e.g. 0.93).")
    passed: Annotated[bool, Field(strict=True)] = Field(description="Whether it passed.")
    threshold: Score | None = Field(None, description="The score it had to reach, if any.")
    details: Annotated[JSONObject, AfterValidator(_bounded_details)] | None = Field(
        None, description=f"Anything else (a JSON object of at most {MAX_DETAILS_BYTES} bytes)."
    )
    url: Url | None = Field(None, description="A link to the run (http or https).")  # type: ignore[valid-type]
    ci_run_id: Str(200, 1) | None = Field(None, description="The CI run's id.")  # type: ignore[valid-type]
    commit: Commit | None = None


class EvalResultOut(Output):
    id: int
    slug: str
    version: int
    name: str
    score: float
    passed: bool
    threshold: float | None
    details: dict[str, Any] | None
    url: str | None
    ci_run_id: str | None
    commit: str | None
    created_by: str | None
    created_at: datetime


class EvalResultList(BaseModel):
    data: list[EvalResultOut] = Field(description="Newest first.")
    next_cursor: int | None


class RequiredEval(Input):
    name: EvalName
    min_score: Score = Field(description="The least score its latest result must have.")


def _unique_names(value: list[RequiredEval]) -> list[RequiredEval]:
    seen: set[str] = set()
    for i, item in enumerate(value):
        if item.name in seen:
            raise ValueError(f"{i}: {item.name!r} is required twice")
        seen.add(item.name)
    return value


RequiredEvals = Annotated[
    list[RequiredEval],
    Field(max_length=MAX_REQUIRED_EVALS),
    AfterValidator(_unique_names),
]
