"""Template rendering benchmark: ``python -m bench.render`` (from the repository root).

Renders one template with sections (a list of 5 orders, a boolean, an inverted section, a
comment, standalone lines) and 10 top-level variables with the PromptOps engine, pystache and
chevron, side by side on the same template text and data:

- PromptOps: ``compile_template(text)`` once, then ``Template.render(values)`` (strict, the
  SDK's default: the checks of required and unknown variables are in the time);
- pystache: ``pystache.parse(text)`` once, then ``Renderer.render(parsed, values)``;
- chevron: ``chevron.tokenizer.tokenize(text)`` once into a list, then
  ``chevron.render(tokens, values)`` (chevron renders pre-tokenized templates without
  re-parsing them).

Every tag is a triple mustache (``{{{name}}}``) so pystache and chevron do not HTML-escape
either and all three do the same work (PromptOps never escapes; ``{{{name}}}`` is a synonym of
``{{name}}``); the three outputs are checked equal first. Target: PromptOps >= 3x faster than
both. Timings are timeit loops, the three timed in alternation in each round, medians over
rounds (ratios are medians of per-round ratios). Results are printed and written to
``docs/performance.md`` under "## Template rendering (bench/render)" (``--no-write`` to skip).
Needs the ``bench`` extra (``pip install -e .[bench]``).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench._common import DOC, write_doc_section
from promptops.templating import compile_template

SECTION = "## Template rendering (bench/render)"

TEMPLATE = """\
You are {{{assistant}}}, the support assistant of {{{product}}}.
You are talking to {{{customer.name}}} ({{{customer.plan}}} plan, since {{{customer.since}}}).
{{! the VIP paragraph is reviewed by the support lead }}
{{#vip}}
This customer is a VIP: answer first, and offer a call with {{{signature}}}.
{{/vip}}
Their recent orders:
{{#orders}}
- order {{{id}}}: {{{title}}} ({{{status}}}, {{{customer.name}}})
{{/orders}}
{{^orders}}
No orders yet.
{{/orders}}
Answer in {{{language}}}, in a {{{tone}}} tone, before {{{deadline}}}.
Question: {{{question}}}
"""

VALUES: dict[str, Any] = {
    "assistant": "Ada",
    "product": "PromptOps Cloud",
    "customer": {"name": "Grace Hopper", "plan": "Team", "since": "2024"},
    "vip": True,
    "signature": "Alan from support",
    "orders": [
        {"id": f"A-{100 + i}", "title": f"Seat pack {i}", "status": "shipped"} for i in range(5)
    ],
    "language": "English",
    "tone": "warm but precise",
    "deadline": "the end of the day",
    "question": "Can I move my seats to another workspace without losing history?",
}


def contenders() -> dict[str, Callable[[], str]]:
    """name -> a no-argument render of TEMPLATE with VALUES (each parsed once, here)."""
    import chevron
    import pystache

    template = compile_template(TEMPLATE)
    parsed = pystache.parse(TEMPLATE)
    renderer = pystache.Renderer(escape=lambda text: text, missing_tags="strict")
    tokens = list(chevron.tokenizer.tokenize(TEMPLATE))
    values = VALUES
    return {
        "PromptOps": lambda: template.render(values),
        "pystache": lambda: renderer.render(parsed, values),
        "chevron": lambda: chevron.render(tokens, values),
    }


def ns_per_call(fn: Callable[[], str], number: int) -> float:
    return timeit.timeit(fn, number=number) / number * 1e9


def run(rounds: int, number: int) -> tuple[list[str], bool]:
    renders = contenders()
    outputs = {name: fn() for name, fn in renders.items()}
    reference = outputs["PromptOps"]
    for name, out in outputs.items():
        if out != reference:
            raise SystemExit(f"{name} renders differently:\n{out!r}\nvs PromptOps:\n{reference!r}")
    times: dict[str, list[float]] = {name: [] for name in renders}
    for i in range(rounds):
        for name, fn in renders.items():
            times[name].append(ns_per_call(fn, number))
        print(
            f"round {i + 1}/{rounds}: "
            + ", ".join(f"{name} {times[name][-1] / 1000:.2f} µs" for name in renders)
        )
    ours = times["PromptOps"]
    ratios = {
        name: statistics.median(b / a for a, b in zip(ours, times[name], strict=True))
        for name in ("pystache", "chevron")
    }
    checks = [(f"PromptOps >= 3x faster than {name}", r >= 3) for name, r in ratios.items()]
    lines = [
        f"Template: {len(TEMPLATE.encode())} B, 10 top-level variables, a section over 5 orders,"
        " a boolean section, an inverted section, a comment, standalone lines; the same text"
        " (triple mustaches, so nobody escapes) and data for all three, outputs checked equal."
        f" {rounds} rounds x {number} renders; medians.",
        "",
        "| Engine (parsed once) | Per render | PromptOps speed-up |",
        "|---|---|---|",
        f"| PromptOps `Template.render` (strict) | {statistics.median(ours) / 1000:.2f} µs | |",
    ]
    for name in ("pystache", "chevron"):
        median = statistics.median(times[name]) / 1000
        lines.append(f"| {name} | {median:.2f} µs | {ratios[name]:.1f}x (target >= 3x) |")
    lines.append("")
    lines += [f"- {'PASS' if ok else 'FAIL'}: {what}" for what, ok in checks]
    lines.append(
        "- PromptOps parses once into a node list; the first render walks it and makes from it"
        " a Python function (literal texts and names as constants, dict lookups inlined) that"
        " every later render runs; `compile_template` is cached by source. pystache and"
        " chevron are given pre-parsed templates too."
    )
    lines.append(
        "- Absolute times vary with the load of the (shared, 2-core) machine; the engines are"
        " timed in alternation in each round, so the ratios vary less."
    )
    return lines, all(ok for _, ok in checks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--number", type=int, default=2000, help="renders per timing loop")
    parser.add_argument("--no-write", action="store_true", help="do not update docs")
    args = parser.parse_args(argv)
    lines, ok = run(args.rounds, args.number)
    print("\n" + "\n".join(lines))
    if not args.no_write:
        command = "python -m bench.render " + " ".join(sys.argv[1:] if argv is None else argv)
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        head = (
            f"Command: `{command.strip()}` (needs `pip install -e '.[bench]'`) — {when},"
            f" Python {platform.python_version()}, {platform.machine()}, {_cpus()} CPUs."
        )
        write_doc_section(SECTION, "\n".join([SECTION, "", head, *lines]) + "\n")
        print(
            f"\nwritten to {DOC.relative_to(Path.cwd()) if DOC.is_relative_to(Path.cwd()) else DOC}"
        )
    return 0 if ok else 1


def _cpus() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    raise SystemExit(main())
