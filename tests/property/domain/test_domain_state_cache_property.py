"""For any history, the state a command decides on equals the state a full replay gives.

The domain machine's random command sequences run again, with a second ledger object on the same
SQLite file also recording and approving (as another process would), so cached states go stale and
must be fast-forwarded. After every step, every aggregate either ledger has cached is loaded the
way a command loads it (the cached state fast-forwarded by the events stored since) and compared,
field by field, with a state rebuilt from the aggregate's first event.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule
from ledger_testing import replayed
from test_domain_state_machine import DomainMachine, pick

from ledger import Ledger
from ledger.state_cache import leaf_hash_of


class CachedStateMachine(DomainMachine):
    def __init__(self) -> None:
        super().__init__()
        self.other = Ledger(self.url, keystore=self.ledger.keystore)
        self.fast_forwards = 0

    def teardown(self) -> None:
        self.other.close()
        super().teardown()

    @rule(a=pick, v=pick, minutes=st.integers(30, 300), up=st.integers(0, 3))
    def record_and_approve_elsewhere(self, a: int, v: int, minutes: int, up: int) -> None:
        """Another ledger object writes, so this one's cached states fall behind."""
        main, self.ledger = self.ledger, self.other
        try:
            self.record_and_approve(a, v, minutes, up)
        finally:
            self.ledger = main

    @invariant()
    def decided_states_equal_a_full_replay(self) -> None:
        for ledger in (self.ledger, self.other):
            cache = ledger._writer.cache
            cached: list[tuple[Any, int]] = []
            for aggregate_id in list(cache._entries):
                entry = cache.take(aggregate_id)
                if entry is None:
                    continue
                cached.append((type(entry.state), entry.state.version))
                cache.put(entry.state, entry.last_leaf_hash, entry.snapshot)
                ctx = ledger._writer.context("city", "2025-03-03T09:00:00Z")
                decided = ctx.state(type(entry.state), aggregate_id)
                events = ledger.events(aggregate_id)
                fresh = replayed(ledger, type(entry.state), aggregate_id)
                assert decided == fresh, aggregate_id
                if decided.version > cached[-1][1]:
                    self.fast_forwards += 1
                ctx.discard()
                kept = cache.take(aggregate_id)
                assert kept is not None and kept.state == fresh
                assert kept.last_leaf_hash == leaf_hash_of(events[-1].envelope)
                cache.put(kept.state, kept.last_leaf_hash, kept.snapshot)


CachedStateMachine.TestCase.settings = settings(
    max_examples=8,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
TestCachedStateMachine = pytest.mark.slow(CachedStateMachine.TestCase)
