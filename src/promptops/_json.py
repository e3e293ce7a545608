"""JSON values compared as JSON means them: ``true`` is not ``1`` (Python says ``True == 1``),
while ``1`` and ``1.0`` are the same number. Shared by the server (is a pushed version the
same content?) and the CLI (which fields of two versions differ?); standard library only."""

from __future__ import annotations

from typing import Any

__all__ = ["json_equal"]


def json_equal(a: Any, b: Any) -> bool:
    """Whether two decoded JSON values are the same JSON."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return (
            isinstance(b, dict)
            and a.keys() == b.keys()
            and all(json_equal(value, b[key]) for key, value in a.items())
        )
    if isinstance(a, list | tuple):
        return (
            isinstance(b, list | tuple)
            and len(a) == len(b)
            and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
        )
    return bool(a == b)
