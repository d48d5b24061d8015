"""Property: however the writers' clocks jump (back, forward, equal), the times the recorders
stamp strictly increase along the log, are never before the clock that stamped them, and the
envelopes stay canonical with only ``recorded_at`` changed."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_testing import empty_store

from ledger.canonical import is_canonical
from ledger.envelope import format_time, make_envelope, open_envelope, parse_time
from ledger.storage.records import InsertReceipt, stamp_recorded_at

BASE = datetime(2026, 3, 5, 9, tzinfo=UTC)
BODY = {"type": "VolunteerRegistered", "data": {"number": "V1"}}


def envelope(recorded_at: str) -> bytes:
    return make_envelope(BODY, b"\x01" * 64, recorded_at)


@given(
    st.lists(
        st.tuples(st.integers(-(10**9), 10**9), st.integers(1, 5)),  # clock offset (µs), batch
        min_size=1,
        max_size=30,
    )
)
def test_stamped_times_strictly_increase_along_the_log(inserts: list[tuple[int, int]]) -> None:
    log: list[bytes] = []
    for offset, batch in inserts:
        now = BASE + timedelta(microseconds=offset)
        events = [
            StoredEvent("a", i + 1, "t", envelope("2000-01-01T00:00:00Z")) for i in range(batch)
        ]
        stamped, times = stamp_recorded_at(
            events, log[-1] if log else None, itertools.repeat(now).__next__
        )
        assert all(parse_time(t) >= now for t in times)
        for event, time in zip(stamped, times, strict=True):
            assert is_canonical(event.state)
            body, signature, recorded_at = open_envelope(event.state)
            assert (body, signature, recorded_at) == (BODY, b"\x01" * 64, time)
        log.extend(event.state for event in stamped)
    recorded = [parse_time(open_envelope(state)[2]) for state in log]
    assert all(a < b for a, b in itertools.pairwise(recorded))


def test_format_round_trips_microseconds() -> None:
    moment = BASE + timedelta(microseconds=1)
    assert parse_time(format_time(moment)) == moment


STORES = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.mark.parametrize("kind", STORES)
@settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    start=st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 31)),
    inserts=st.lists(
        st.tuples(st.integers(-(10**7), 10**7), st.integers(1, 4)),  # clock offset (µs), batch
        min_size=1,
        max_size=6,
    ),
)
def test_every_store_stamps_the_times_the_rule_gives(
    kind: str, tmp_path: Path, start: datetime, inserts: list[tuple[int, int]]
) -> None:
    """Whole seconds, leading zeros, any year: the store's stamps are ``stamp_recorded_at``'s,
    byte for byte, in the receipt and in the stored envelopes."""
    start = start.replace(tzinfo=UTC)
    expected: list[str] = []
    with empty_store(kind, tmp_path) as ledger:
        for offset, batch in inserts:
            now = start + timedelta(microseconds=offset)
            events = [
                StoredEvent(uuid4(), 1, "t", envelope("2000-01-01T00:00:00Z")) for _ in range(batch)
            ]
            last = envelope(expected[-1]) if expected else None
            _, times = stamp_recorded_at(events, last, itertools.repeat(now).__next__)
            receipt = InsertReceipt()
            ledger._recorder.insert_events(
                events, receipt=receipt, stamp_clock=itertools.repeat(now).__next__
            )
            assert receipt.recorded_at == times
            expected.extend(times)
        leaves = ledger._recorder.select_leaves(0, 1000)
    assert [open_envelope(leaf.state or b"")[2] for leaf in leaves] == expected
