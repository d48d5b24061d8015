"""Failed authentications are counted in the store, so the limit holds for a server as a whole,
whatever the number of its worker processes: the counter's increments are atomic across
processes, windows follow the clock, and old windows are forgotten."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable

import pytest

from ledger import Ledger, MemoryKeystore
from ledger_api.ratelimit import SharedWindowLimiter

COUNTS = 60


def _increment(url: str, times: int) -> None:
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        limiter = SharedWindowLimiter(clock=lambda: 120.0)
        for _ in range(times):
            limiter.count(ledger._recorder, "203.0.113.9")


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_three_processes_counting_at_once_lose_no_count(
    kind: str, store_url_for: Callable[[str], str]
) -> None:
    url = store_url_for(kind)
    Ledger(url, keystore=MemoryKeystore()).close()  # the tables, before the processes race
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_increment, args=(url, COUNTS)) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0
    with Ledger(url, keystore=MemoryKeystore()) as ledger:
        limiter = SharedWindowLimiter(clock=lambda: 150.0)
        assert limiter.retry_after(ledger._recorder, "203.0.113.9", 3 * COUNTS + 1) is None
        assert limiter.retry_after(ledger._recorder, "203.0.113.9", 3 * COUNTS) == 30


def test_the_limit_is_per_window_and_per_address(store_url: str) -> None:
    now = [600.0]
    limiter = SharedWindowLimiter(clock=lambda: now[0])
    with Ledger(store_url, keystore=MemoryKeystore()) as ledger:
        store = ledger._recorder
        for _ in range(4):
            assert limiter.retry_after(store, "198.51.100.1", 5) is None
            limiter.count(store, "198.51.100.1")
        now[0] = 615.5
        assert limiter.count(store, "198.51.100.1") == 5
        assert limiter.retry_after(store, "198.51.100.1", 5) == 45  # until 660
        assert limiter.retry_after(store, "198.51.100.2", 5) is None  # another address
        now[0] = 660.0  # a new window
        assert limiter.retry_after(store, "198.51.100.1", 5) is None
        assert limiter.count(store, "198.51.100.1") == 1
        now[0] = 720.0  # the next window starts: rows of windows before the last one go
        limiter.count(store, "198.51.100.2")
        kept = [key for key, _ in store.side_items(SharedWindowLimiter.NAMESPACE)]
        assert kept == ["000000000011:198.51.100.1", "000000000012:198.51.100.2"]
        now[0] = 780.0
        limiter.count(store, "198.51.100.2")
        kept = [key for key, _ in store.side_items(SharedWindowLimiter.NAMESPACE)]
        assert kept == ["000000000012:198.51.100.2", "000000000013:198.51.100.2"]
