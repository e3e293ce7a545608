"""Field types every contract model shares: bounded, storable text and JSON, and the base
classes of request (strict, no unknown fields) and response models."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from promptops.contract.text import clean_json, clean_text

__all__ = [
    "MAX_TEXT",
    "Environment",
    "Identifier",
    "Input",
    "JSONObject",
    "Name",
    "Output",
    "Role",
    "Str",
    "Text",
]

MAX_TEXT = 200_000
IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"

Environment = Literal["dev", "staging", "production"]
Role = Literal["read", "write"]  # of an API key


def Str(max_length: int, min_length: int = 0) -> Any:
    """A string of bounded length that a database stores faithfully (no NUL, no lone
    surrogate); not coerced from numbers."""
    return Annotated[
        str,
        StringConstraints(min_length=min_length, max_length=max_length),
        Field(strict=True),
        AfterValidator(clean_text),
    ]


Name = Annotated[
    str,
    StringConstraints(min_length=1, max_length=200, strip_whitespace=True),
    Field(strict=True),
    AfterValidator(clean_text),
]
Text = Str(MAX_TEXT)
JSONObject = Annotated[dict[str, Any], AfterValidator(clean_json)]
Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=IDENTIFIER),
    Field(strict=True),
]


class Input(BaseModel):
    """A request body: unknown fields are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)
