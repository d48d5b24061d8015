"""A volunteer's records by activity, kept as events apply, answer exactly what scanning every
record answers: the once-per-activity and attendance rules look only at one activity's records,
so their cost does not grow with the volunteer's history."""

from __future__ import annotations

import json
from types import SimpleNamespace
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from ledger.model.service import COUNTING, Record, ServiceAccount
from ledger.snapshots import MODEL_ONLY
from ledger.state_codec import dumps_state, loads_state

NUMBER = "VABCDEFGHIJKLM"
ACTIVITIES = ["act-1", "act-2", "act-3"]

record_event = st.tuples(
    st.just("HoursRecorded"), st.sampled_from(ACTIVITIES), st.none() | st.integers(1, 3)
)
carried_in = st.tuples(st.just("ServiceCarriedIn"), st.just(""), st.none())
review = st.tuples(
    st.sampled_from(["RecordApproved", "RecordRejected", "RecordVoided"]),
    st.integers(0, 30),  # which record, modulo those made so far
    st.none(),
)
histories = st.lists(st.one_of(record_event, carried_in, review), max_size=40)


def _apply(account: ServiceAccount, step: tuple[str, object, int | None]) -> None:
    kind, what, session = step
    fact = SimpleNamespace(type=kind, org="team-a", occurred_at="2026-12-04T09:00:00Z")
    record_id = f"{NUMBER}-R{len(account.records) + 1}"
    if kind == "HoursRecorded":
        data = {
            "number": NUMBER,
            "record_id": record_id,
            "activity_id": what,
            "field": "education",
            "service_date": "2026-12-01",
            "minutes": 60,
            "late": False,
            "attendance_session": session,
        }
    elif kind == "ServiceCarriedIn":
        data = {"number": NUMBER, "record_id": record_id, "minutes": 90}
    elif not account.records:
        return
    else:
        data = {
            "record_id": list(account.records)[int(str(what)) % len(account.records)],
            "approved_minutes": 60,
        }
    account.apply(fact, data)


def _scanned(account: ServiceAccount, activity_id: str) -> list[Record]:
    return [r for r in account.records.values() if r.activity_id == activity_id]


def _answers(account: ServiceAccount) -> dict[str, tuple[list[str], int, list[int | None]]]:
    return {
        activity: (
            [r.record_id for r in account.records_of_activity(activity)],
            account.times_credited(activity),
            [r.attendance_session for r in account.records_of_activity(activity)],
        )
        for activity in [*ACTIVITIES, ""]
    }


def _by_scanning(account: ServiceAccount) -> dict[str, tuple[list[str], int, list[int | None]]]:
    return {
        activity: (
            [r.record_id for r in _scanned(account, activity)],
            sum(1 for r in _scanned(account, activity) if r.status in COUNTING),
            [r.attendance_session for r in _scanned(account, activity)],
        )
        for activity in [*ACTIVITIES, ""]
    }


@given(history=histories, first_asked=st.integers(0, 40))
def test_records_by_activity_answer_what_a_scan_answers(
    history: list[tuple[str, object, int | None]], first_asked: int
) -> None:
    """Asked first at any point of the history (the index is built then, and kept after)."""
    account = ServiceAccount(uuid4())
    for position, step in enumerate(history):
        if position == first_asked:
            assert _answers(account) == _by_scanning(account)
        _apply(account, step)
    assert _answers(account) == _by_scanning(account)


@given(history=histories, asked=st.booleans())
def test_a_saved_state_with_or_without_the_index_reads_back_to_the_same_answers(
    history: list[tuple[str, object, int | None]], asked: bool
) -> None:
    """A snapshot written before the index existed (no such field) derives it when read."""
    account = ServiceAccount(uuid4())
    for step in history:
        _apply(account, step)
    if asked:
        _answers(account)
    saved = dumps_state(account, modules=MODEL_ONLY)
    older = json.loads(saved)
    older["fields"].pop("records_at", None)
    for data in (saved, json.dumps(older).encode()):
        restored = loads_state(data, modules=MODEL_ONLY)
        assert restored == account
        assert _answers(restored) == _by_scanning(account)
