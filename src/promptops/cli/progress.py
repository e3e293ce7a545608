"""A progress bar on stderr, for work over many items, shown only on a terminal (and never
with ``--json``, or for a handful of items)."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]

MIN_ITEMS = 20  # fewer finish before a bar could be read


class Progress:
    def __init__(
        self, label: str, total: int, *, stream: TextIO | None = None, enabled: bool = True
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.on = enabled and total >= MIN_ITEMS and bool(isatty and isatty())
        self.label = label
        self.total = total
        self.done = 0
        self._shown = 0.0

    def tick(self) -> None:
        self.done += 1
        if not self.on:
            return
        now = time.monotonic()
        if self.done == self.total or now - self._shown >= 0.05:
            self._shown = now
            width = 30
            filled = width * self.done // max(self.total, 1)
            bar = "#" * filled + "." * (width - filled)
            self.stream.write(f"\r{self.label} [{bar}] {self.done}/{self.total}")
            self.stream.flush()

    def close(self) -> None:
        if self.on and self.done:
            self.stream.write("\r\033[K")  # clear the line: the result is printed next
            self.stream.flush()

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
