"""The one cost format every dashboard page uses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from promptops.server.dashboard.formatting import format_cost, format_duration


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


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.85, "850 ms"), (4.25, "4.2 s"), (185, "3 min 5 s"), (7800, "2 h 10 min"), (-1, "0 ms")],
)
def test_durations_read_in_the_largest_fitting_unit(seconds: float, shown: str) -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    assert format_duration(start, start + timedelta(seconds=seconds)) == shown


def test_an_unknown_end_or_start_is_a_dash() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert format_duration(now, None) == "—" and format_duration(None, now) == "—"
