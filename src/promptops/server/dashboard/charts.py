"""Per-prompt charts from the request logs' metrics: requests, error rate, latency p50 and
p95 and cost per day, one line per version. Rendered server-side as inline SVG (no script,
no external library), each with a text title and a data table for screen readers and
keyboard users."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

from promptops.domain.log_metrics import MetricsRow

__all__ = ["Chart", "UsageByDay", "line_chart", "usage_by_day"]

# Distinguishable colours (Okabe-Ito); each line also has its own marker and legend label.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
WIDTH, HEIGHT = 520, 210
LEFT, RIGHT, TOP, BOTTOM = 56, 24, 14, 58


@dataclass
class UsageByDay:
    days: list[date]
    versions: list[str]  # "v3", "v2", ... ("none" for calls without a version)
    requests: dict[str, list[float | None]] = field(default_factory=dict)
    error_rate: dict[str, list[float | None]] = field(default_factory=dict)  # percent
    latency_p50_ms: dict[str, list[float | None]] = field(default_factory=dict)
    latency_p95_ms: dict[str, list[float | None]] = field(default_factory=dict)
    cost_usd: dict[str, list[float | None]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.versions


def usage_by_day(rows: Iterable[MetricsRow], *, days: int, today: date) -> UsageByDay:
    """Lay out daily metrics rows (``promptops.domain.log_metrics``, bucket ``day``) over
    the last ``days``, one series per version; a day without calls has no point (requests
    0)."""
    span = [today - timedelta(days=days - 1 - i) for i in range(days)]
    index = {d: i for i, d in enumerate(span)}
    by_label: dict[str, dict[int, MetricsRow]] = {}
    for row in rows:
        i = index.get(row.bucket.date())
        if i is None:
            continue
        label = f"v{row.version}" if row.version is not None else "none"
        by_label.setdefault(label, {})[i] = row
    labels = sorted(by_label, key=lambda v: (v == "none", -int(v[1:]) if v != "none" else 0))
    usage = UsageByDay(span, labels)
    for label in labels:
        points = [by_label[label].get(i) for i in range(days)]
        usage.requests[label] = [float(r.requests) if r else 0.0 for r in points]
        usage.error_rate[label] = [100.0 * r.errors / r.requests if r else None for r in points]
        usage.latency_p50_ms[label] = [r.latency_p50_ms if r else None for r in points]
        usage.latency_p95_ms[label] = [r.latency_p95_ms if r else None for r in points]
        usage.cost_usd[label] = [r.cost_usd if r else None for r in points]
    return usage


@dataclass(frozen=True)
class Chart:
    title: str
    svg: str
    table: str


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    magnitude = 10 ** (len(str(int(value))) - 1) if value >= 1 else 10**-3
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return float(step * magnitude)
    return value


def line_chart(
    title: str,
    days: list[date],
    series: dict[str, list[float | None]],
    fmt: Callable[[float], str],
    chart_id: str,
) -> Chart:
    values = [v for points in series.values() for v in points if v is not None]
    top = _nice_max(max(values, default=0.0))
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(days) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return LEFT + i * step, TOP + plot_h - (v / top) * plot_h

    parts = [
        f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" role="img"'
        f' aria-labelledby="{chart_id}-t" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{chart_id}-t">{escape(title)} per day, by version (table below)</title>',
    ]
    for k in range(5):  # grid and y labels
        v = top * k / 4
        _, y = xy(0, v)
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"'
            f' stroke="#d5dae1" stroke-width="1"/>'
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end"'
            f' fill="#5a6472">{escape(fmt(v))}</text>'
        )
    for i in sorted({0, len(days) // 2, len(days) - 1}):  # x labels
        x, _ = xy(i, 0)
        parts.append(
            f'<text x="{x:.1f}" y="{TOP + plot_h + 16}" font-size="11" text-anchor="middle"'
            f' fill="#5a6472">{days[i].strftime("%m-%d")}</text>'
        )
    for n, (label, points) in enumerate(series.items()):
        color = PALETTE[n % len(PALETTE)]
        coords = [(i, v) for i, v in enumerate(points) if v is not None]
        if len(coords) > 1:
            path = " ".join(f"{xy(i, v)[0]:.1f},{xy(i, v)[1]:.1f}" for i, v in coords)
            parts.append(
                f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for i, v in coords:
            x, y = xy(i, v)
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}">'
                f"<title>{escape(label)} {days[i].isoformat()}: {escape(fmt(v))}</title></circle>"
            )
        lx = LEFT + (n % 5) * 92
        ly = HEIGHT - 18 + (n // 5) * 14
        parts.append(
            f'<rect x="{lx}" y="{ly - 9}" width="12" height="10" fill="{color}"/>'
            f'<text x="{lx + 16}" y="{ly}" font-size="12" fill="#1c2430">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return Chart(title, "".join(parts), _table(title, days, series, fmt))


def _table(
    title: str, days: list[date], series: dict[str, list[float | None]], fmt: Callable[[float], str]
) -> str:
    head = "".join(f'<th scope="col">{escape(label)}</th>' for label in series)
    rows = []
    for i, day in enumerate(days):
        cells = "".join(
            f"<td>{'—' if points[i] is None else escape(fmt(points[i] or 0.0))}</td>"
            for points in series.values()
        )
        rows.append(f'<tr><th scope="row">{day.isoformat()}</th>{cells}</tr>')
    return (
        f"<table><caption>{escape(title)} per day</caption>"
        f'<thead><tr><th scope="col">Day</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
