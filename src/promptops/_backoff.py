"""Exponential backoff with full jitter, shared by the SDK and the server.

Imports nothing but the standard library, so the plain SDK install can use it.

``delay(attempt)`` for the n-th consecutive failure (0-based) is drawn uniformly from
``[0, min(cap, first * factor ** attempt)]`` ("full jitter", as in the AWS architecture blog's
"Exponential Backoff And Jitter"): clients that failed together (a server restart) spread
their retries over the whole window instead of returning in lock-step. ``jitter=False`` gives
the plain ceiling (for callers that must wait at least a known time).

    backoff = Backoff(first=0.1, cap=5.0)
    while not stopped:
        try:
            work()
            backoff.reset()
        except OSError:
            stop_event.wait(backoff.next())
"""

from __future__ import annotations

import random
from collections.abc import Callable

__all__ = ["Backoff", "ceiling", "full_jitter"]


def ceiling(attempt: int, first: float, cap: float, factor: float = 2.0) -> float:
    """The largest delay of failure number ``attempt`` (0-based): ``first * factor**attempt``
    capped at ``cap``."""
    if attempt < 0:
        raise ValueError("attempt must be >= 0")
    return min(cap, first * factor ** min(attempt, 64))


def full_jitter(
    attempt: int,
    first: float,
    cap: float,
    factor: float = 2.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """A delay drawn uniformly from ``[0, ceiling(attempt, first, cap, factor)]``."""
    return ceiling(attempt, first, cap, factor) * rand()


class Backoff:
    """Consecutive-failure counter that hands out the next delay.

    ``first`` (> 0) is the ceiling of the first delay, doubling (``factor``) per further
    failure up to ``cap``. ``rand`` (a ``random.Random().random``) makes tests deterministic.
    Not thread-safe: one per loop, or guard it.
    """

    def __init__(
        self,
        first: float,
        cap: float,
        *,
        factor: float = 2.0,
        jitter: bool = True,
        rand: Callable[[], float] | None = None,
    ) -> None:
        if first <= 0 or cap <= 0 or factor < 1:
            raise ValueError("first and cap must be > 0 and factor >= 1")
        self.first = float(first)
        self.cap = max(float(cap), self.first)
        self.factor = float(factor)
        self.jitter = jitter
        self._rand = rand or random.random
        self.failures = 0

    def ceiling(self) -> float:
        """The ceiling of the delay :meth:`next` would hand out now."""
        return ceiling(self.failures, self.first, self.cap, self.factor)

    def next(self) -> float:
        """Record a failure; the seconds to wait before the next attempt."""
        top = self.ceiling()
        self.failures += 1
        return top * self._rand() if self.jitter else top

    def reset(self) -> bool:
        """Record a success; True if it ended a run of failures."""
        failed = self.failures > 0
        self.failures = 0
        return failed

    @property
    def failing(self) -> bool:
        return self.failures > 0
