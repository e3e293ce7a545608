"""The cache module on its own: entries, single flight, exact invalidation, backoff."""

from __future__ import annotations

import math
import random
import threading

from promptops.sdk.cache import Backoff, Entry, PromptCache
from promptops.sdk.prompt import Prompt
from tests.sdk.conftest import FakeClock


def entry(slug: str, version: int | None = None, expires: float = 100.0) -> Entry:
    return Entry(Prompt(slug=slug, version=version or 1, user_template="x"), expires, None, {})


def test_invalidate_matches_the_slug_exactly() -> None:
    cache = PromptCache(FakeClock())
    for key in [("foo", None), ("foo", 3), ("foobar", None), ("fo", None), ("xfoo", None)]:
        cache.store(key, entry(key[0], key[1]))
    assert cache.invalidate("foo") == 2
    assert sorted(cache.entries) == [("fo", None), ("foobar", None), ("xfoo", None)]
    assert cache.invalidate("nothing") == 0
    assert cache.invalidate() == 3 and len(cache) == 0


def test_one_flight_per_key() -> None:
    cache = PromptCache()
    first, started = cache.begin(("a", None), threading.Event)
    again, started_again = cache.begin(("a", None), threading.Event)
    other, started_other = cache.begin(("b", None), threading.Event)
    assert started and not started_again and again is first
    assert started_other and other is not first
    cache.finish(first, "done")
    assert first.outcome == "done" and cache.in_flight() == 1
    _, restarted = cache.begin(("a", None), threading.Event)
    assert restarted


def test_a_flight_older_than_an_invalidation_cannot_store() -> None:
    cache = PromptCache()
    flight, _ = cache.begin(("a", None), threading.Event)
    other, _ = cache.begin(("b", None), threading.Event)
    cache.invalidate("a")
    assert not cache.store(("a", None), entry("a"), flight)
    assert cache.store(("b", None), entry("b"), other)  # "b" was not invalidated
    later, _ = cache.begin(("c", None), threading.Event)
    cache.invalidate()
    assert not cache.store(("c", None), entry("c"), later)
    cache.finish(later, None)
    fresh, _ = cache.begin(("c", None), threading.Event)
    assert cache.store(("c", None), entry("c"), fresh)


def test_entry_renewal_keeps_the_value() -> None:
    e = entry("a", expires=1.0)
    renewed = e.renewed(50.0)
    assert renewed.prompt is e.prompt and renewed.expires == 50.0
    stale = e.renewed(60.0, stale=True)
    assert stale.prompt.is_stale and stale.prompt.user_template == "x"
    assert stale.renewed(70.0).prompt.is_stale is False


def test_backoff() -> None:
    backoff = Backoff(first=1.0, cap=5.0, rand=lambda: 1.0)  # the top of each window
    assert not backoff.active(0.0)
    assert [backoff.failed(0.0, OSError()) for _ in range(5)] == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.active(4.9) and not backoff.active(5.0)
    jittered = Backoff(first=1.0, cap=5.0, rand=random.Random(3).random)
    waits = [jittered.failed(0.0, OSError()) for _ in range(6)]
    assert all(0.0 <= w <= top for w, top in zip(waits, [1, 2, 4, 5, 5, 5], strict=True))
    assert len(set(waits)) == 6  # full jitter: drawn, not fixed
    for _ in range(5000):  # no overflow after a very long outage
        backoff.failed(0.0, OSError())
    assert backoff.succeeded() and not backoff.succeeded()
    assert backoff.until == -math.inf and backoff.cause is None


def test_pinned_versions_are_capped_oldest_stored_first() -> None:
    cache = PromptCache(pinned_max=3)
    for v in range(1, 6):
        cache.store(("p", v), entry("p", v, math.inf))
    assert sorted(k[1] for k in cache.entries) == [3, 4, 5]
    assert cache.pinned_evicted == 2
    cache.store(("p", 3), entry("p", 3, math.inf))  # stored again: now the newest
    cache.store(("p", 6), entry("p", 6, math.inf))
    assert sorted(k[1] for k in cache.entries) == [3, 5, 6]
    cache.store(("p", None), entry("p", 9, math.inf))  # the active entry is not counted
    assert len(cache) == 4
    cache.invalidate("p")
    for v in range(10, 13):
        cache.store(("p", v), entry("p", v, math.inf))
    assert len(cache) == 3 and cache.pinned_evicted == 3
