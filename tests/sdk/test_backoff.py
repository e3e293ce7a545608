"""promptops._backoff: bounds, growth, cap, full jitter (seeded), reset."""

from __future__ import annotations

import random

import pytest

from promptops._backoff import Backoff, ceiling, full_jitter


def test_ceiling_doubles_from_first_up_to_the_cap() -> None:
    assert [ceiling(n, 0.5, 30.0) for n in range(8)] == [0.5, 1, 2, 4, 8, 16, 30, 30]
    assert ceiling(10_000, 0.5, 30.0) == 30.0  # no overflow on a long outage
    with pytest.raises(ValueError):
        ceiling(-1, 1, 2)


def test_full_jitter_draws_within_zero_and_the_ceiling_with_a_seeded_rng() -> None:
    rng = random.Random(42)
    draws = [full_jitter(3, 1.0, 60.0, rand=rng.random) for _ in range(2000)]
    assert all(0.0 <= d <= 8.0 for d in draws)
    # Spread over the whole window, not clustered near the ceiling.
    assert min(draws) < 0.5 and max(draws) > 7.5
    assert 3.5 < sum(draws) / len(draws) < 4.5
    again = random.Random(42)
    assert draws[:5] == [full_jitter(3, 1.0, 60.0, rand=again.random) for _ in range(5)]


def test_backoff_grows_caps_and_resets() -> None:
    rng = random.Random(7)
    backoff = Backoff(0.1, 5.0, rand=rng.random)
    ceilings = []
    for _ in range(10):
        top = backoff.ceiling()
        ceilings.append(top)
        assert 0.0 <= backoff.next() <= top
    assert ceilings[:7] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 5.0])
    assert set(ceilings[6:]) == {5.0}
    assert backoff.failing and backoff.reset() and not backoff.reset()
    assert backoff.ceiling() == 0.1


def test_without_jitter_the_delay_is_the_ceiling() -> None:
    backoff = Backoff(1.0, 4.0, jitter=False)
    assert [backoff.next() for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]


def test_bad_parameters_are_refused() -> None:
    for first, cap in ((0, 1), (1, 0), (-1, 1)):
        with pytest.raises(ValueError):
            Backoff(first, cap)
