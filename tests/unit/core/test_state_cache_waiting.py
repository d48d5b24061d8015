"""A thread that wants a cached state another thread has taken out waits for it, briefly.

Rebuilding a long history from its snapshot costs tens of milliseconds, putting a state back
after a read a fraction of one, so ``VerifiedStateCache.take`` waits for an entry that is out, for
about as long as rebuilding it would take, and answers None past that (the caller rebuilds).
"""

from __future__ import annotations

import threading
import time
from uuid import uuid4

from ledger.model.aggregates import Volunteer
from ledger.state_cache import VerifiedStateCache

LEAF = b"\x01" * 32


def cache_holding(
    version: int, *, per_event: float, most: float
) -> tuple[VerifiedStateCache, Volunteer]:
    cache = VerifiedStateCache()
    cache.wait_per_event, cache.max_wait = per_event, most
    state = Volunteer(aggregate_id=uuid4(), version=version)
    cache.put(state, LEAF)
    return cache, state


def take_in_thread(
    cache: VerifiedStateCache, state: Volunteer
) -> tuple[threading.Thread, dict[str, object]]:
    outcome: dict[str, object] = {}

    def take() -> None:
        started = time.perf_counter()
        outcome["entry"] = cache.take(state.aggregate_id)
        outcome["seconds"] = time.perf_counter() - started

    thread = threading.Thread(target=take)
    thread.start()
    return thread, outcome


def wait_until_waiting(cache: VerifiedStateCache) -> None:
    deadline = time.monotonic() + 10
    while cache.waits == 0:
        assert time.monotonic() < deadline, "the second thread never waited"
        time.sleep(0.001)


def test_an_entry_put_back_goes_to_the_thread_waiting_for_it() -> None:
    cache, state = cache_holding(4000, per_event=0.01, most=10)
    mine = cache.take(state.aggregate_id)
    assert mine is not None
    thread, outcome = take_in_thread(cache, state)
    wait_until_waiting(cache)
    mine.state.version += 1  # as a command that stored one event
    cache.put(mine.state, LEAF)
    thread.join(timeout=10)
    entry = outcome["entry"]
    assert entry is not None and entry.state is mine.state  # type: ignore[attr-defined]
    assert (cache.hits, cache.misses, cache.waits) == (2, 0, 1)


def test_an_entry_released_ends_the_wait_with_nothing() -> None:
    cache, state = cache_holding(4000, per_event=0.01, most=10)
    assert cache.take(state.aggregate_id) is not None
    thread, outcome = take_in_thread(cache, state)
    wait_until_waiting(cache)
    cache.release(state.aggregate_id)  # its state held drafts that were not stored
    thread.join(timeout=10)
    assert outcome["entry"] is None and outcome["seconds"] < 5  # type: ignore[operator]
    assert cache.misses == 1


def test_the_wait_lasts_about_what_rebuilding_would_cost_and_no_longer() -> None:
    cache, state = cache_holding(100, per_event=0.001, most=10)  # 0.1 s for 100 events
    assert cache.take(state.aggregate_id) is not None  # and never put back
    thread, outcome = take_in_thread(cache, state)
    thread.join(timeout=10)
    assert outcome["entry"] is None
    assert 0.09 <= outcome["seconds"] < 5  # type: ignore[operator]
    capped, state = cache_holding(100_000, per_event=0.001, most=0.05)
    assert capped.take(state.aggregate_id) is not None
    thread, outcome = take_in_thread(capped, state)
    thread.join(timeout=10)
    assert outcome["entry"] is None and 0.04 <= outcome["seconds"] < 5  # type: ignore[operator]


def test_a_thread_does_not_wait_for_an_entry_it_has_out_itself() -> None:
    cache, state = cache_holding(4000, per_event=0.01, most=10)
    assert cache.take(state.aggregate_id) is not None
    started = time.perf_counter()
    assert cache.take(state.aggregate_id) is None  # a nested read in the same thread rebuilds
    assert time.perf_counter() - started < 1 and cache.waits == 0


def test_a_release_by_a_thread_that_does_not_hold_the_entry_changes_nothing() -> None:
    cache, state = cache_holding(4000, per_event=0.01, most=10)
    assert cache.take(state.aggregate_id) is not None
    other = threading.Thread(target=cache.release, args=(state.aggregate_id,))
    other.start()
    other.join()
    thread, outcome = take_in_thread(cache, state)
    wait_until_waiting(cache)  # still out: the other thread's release did not count
    cache.release(state.aggregate_id)
    thread.join(timeout=10)
    assert outcome["entry"] is None
