"""The one cost format every dashboard page uses."""

from __future__ import annotations

import pytest

from promptops.server.dashboard.formatting import format_cost


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        (float("nan"), "—"),
        (0, "$0"),
        (0.0000077, "$0.0000077"),
        (0.00011, "$0.00011"),
        (0.001, "$0.001"),
        (0.0123, "$0.012"),
        (0.5, "$0.50"),
        (0.999, "$1.00"),
        (1.5, "$1.50"),
        (1234.5, "$1,234.50"),
        (1e-9, "< $0.0000001"),
        (-0.02, "-$0.02"),
    ],
)
def test_format_cost(value: float | None, shown: str) -> None:
    assert format_cost(value) == shown


def test_never_scientific_notation() -> None:
    for exponent in range(-7, 7):
        assert "e" not in format_cost(3.3 * 10**exponent)
