"""How the dashboard writes numbers a person reads: one function per kind of value, used by
every page (registered as Jinja filters in :mod:`promptops.server.dashboard.web`)."""

from __future__ import annotations

import math
from datetime import datetime

__all__ = ["format_cost", "format_duration"]

_SMALLEST = 1e-7  # below this a cost is shown as "< $0.0000001"


def format_cost(value: float | None) -> str:
    """A cost in US dollars, never in scientific notation: cents from $1 up
    (``$1,234.50``), two significant digits below (``$0.012``, ``$0.0000077``),
    ``$0`` for nothing, ``< $0.0000001`` for less, ``—`` when unknown."""
    if value is None or not math.isfinite(value):
        return "—"
    sign, amount = ("-" if value < 0 else ""), abs(value)
    if amount == 0:
        return "$0"
    if amount < _SMALLEST:
        return "< $0.0000001" if not sign else "> -$0.0000001"
    if amount >= 1 or round(amount, 2) >= 1:
        return f"{sign}${amount:,.2f}"
    decimals = -math.floor(math.log10(amount)) + 1  # two significant digits
    digits = f"{amount:.{decimals}f}".rstrip("0")
    whole, _, fraction = digits.partition(".")
    return f"{sign}${whole}.{fraction.ljust(2, '0')}"


def format_duration(start: datetime | None, end: datetime | None) -> str:
    """How long from ``start`` to ``end``: ``850 ms``, ``4.2 s``, ``3 min 5 s``,
    ``2 h 10 min``; ``—`` when either is unknown (not started, or not finished)."""
    if start is None or end is None:
        return "—"
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    return f"{minutes // 60} h {minutes % 60} min"
