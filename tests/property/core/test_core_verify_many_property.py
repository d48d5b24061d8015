"""Events read together are checked as each would be alone: however a run of stored events is
changed (a byte of one flipped, a signature of another, events swapped or moved to another
aggregate's place), reading the run at once refuses it with exactly the error that reading its
events one by one raises first, and a run nobody changed reads back the same either way."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from hashlib import sha256
from typing import Any

import pytest
from core_property_support import open_city
from hypothesis import example, given, settings
from hypothesis import strategies as st

from ledger import Ledger, TamperedEventError
from ledger.model.ids import volunteer_aggregate_id
from ledger.signing import PARALLEL_SIGNING_FROM

PURPOSES = ("certificate-name", "photo-publication")


@pytest.fixture(scope="module")
def history() -> Iterator[tuple[Ledger, list[Any]]]:
    """A volunteer with a history long enough to be verified on several cores, as stored."""
    ledger = open_city("memory://")
    number = ledger.register_volunteer("org-a", idempotency_key="v").value.number
    for i in range(3 * PARALLEL_SIGNING_FROM):
        command = ledger.give_consent if i % 2 else ledger.withdraw_consent
        command("org-a", number=number, purpose=PURPOSES[i % 2], idempotency_key=f"c{i}")
    yield ledger, list(ledger._recorder.select_events(volunteer_aggregate_id(number)))
    ledger.close()


def one_by_one(ledger: Ledger, stored: list[Any]) -> list[Any] | str:
    try:
        return [ledger._app.signed_mapper.verify(event) for event in stored]
    except TamperedEventError as error:
        return str(error)


def together(ledger: Ledger, stored: list[Any]) -> list[Any] | str:
    try:
        return ledger._app.signed_mapper.verify_many(stored)
    except TamperedEventError as error:
        return str(error)


CHANGE = st.one_of(
    st.tuples(st.sampled_from(["byte", "byte+leaf"]), st.integers(0, 10**6), st.integers(0, 10**6)),
    st.tuples(st.just("signature"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("swap"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("version"), st.integers(0, 10**6), st.just(0)),
)


def changed(stored: list[Any], changes: list[tuple[str, int, int]]) -> list[Any]:
    result = list(stored)
    for change, at, where in changes:
        i = at % len(result)
        event = result[i]
        if change.startswith("byte"):  # "+leaf": the logged leaf hash rewritten to match
            state = bytearray(event.state)
            state[where % len(state)] ^= 0x20
            result[i] = relogged(event, bytes(state), change == "byte+leaf")
        elif change == "signature":  # another valid signature's text, its leaf rewritten
            start = event.state.rindex(b'"signature":"') + len(b'"signature":"')
            state = bytearray(event.state)
            state[start] = ord("A") if state[start] != ord("A") else ord("B")
            result[i] = relogged(event, bytes(state), True)
        elif change == "swap":
            j = (i + 1) % len(result)
            result[i], result[j] = result[j], result[i]
        else:
            result[i] = dataclasses.replace(event, originator_version=event.originator_version + 1)
    return result


def relogged(event: Any, state: bytes, leaf: bool) -> Any:
    if not leaf:
        return dataclasses.replace(event, state=state)
    return dataclasses.replace(event, state=state, leaf_hash=sha256(b"\x00" + state).digest())


def test_an_unchanged_history_reads_the_same_together_and_one_by_one(
    history: tuple[Ledger, list[Any]],
) -> None:
    ledger, stored = history
    assert len(stored) > PARALLEL_SIGNING_FROM
    assert together(ledger, stored) == one_by_one(ledger, stored)


@settings(max_examples=60, deadline=None)
@given(changes=st.lists(CHANGE, min_size=1, max_size=4), start=st.integers(0, 10**6))
@example(changes=[("signature", 3, 0), ("version", 30, 0)], start=0)  # the earlier one first
@example(changes=[("signature", 30, 0)], start=0)  # found only on a helper thread's part
def test_a_changed_run_is_refused_with_the_error_reading_it_alone_gives_first(
    history: tuple[Ledger, list[Any]], changes: list[tuple[str, int, int]], start: int
) -> None:
    ledger, stored = history
    run = changed(stored, changes)[start % 8 :]
    expected = one_by_one(ledger, run)
    assert together(ledger, run) == expected
