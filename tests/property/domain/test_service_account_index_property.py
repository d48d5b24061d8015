"""A volunteer's records by activity and a balance's figures, kept as events apply, answer exactly
what scanning every record answers: the once-per-activity and attendance rules look only at one
activity's records, and a balance at no record, so their cost does not grow with the volunteer's
history."""

from __future__ import annotations

import json
from collections import defaultdict
from types import SimpleNamespace
from typing import Any
from uuid import uuid4

from hypothesis import given
from hypothesis import strategies as st

from ledger.model.service import COUNTING, Record, ServiceAccount
from ledger.snapshots import MODEL_ONLY
from ledger.state_codec import dumps_state, loads_state

NUMBER = "VABCDEFGHIJKLM"
ACTIVITIES = ["act-1", "act-2", "act-3"]

FIELDS = ["education", "legal-aid"]
DATES = ["2025-12-31", "2026-01-01", "2026-12-01"]

record_event = st.tuples(
    st.just("HoursRecorded"),
    st.sampled_from(ACTIVITIES),
    st.none() | st.integers(1, 3),
    st.tuples(st.sampled_from(FIELDS), st.sampled_from(DATES), st.booleans()),
)
carried_in = st.tuples(st.just("ServiceCarriedIn"), st.just(""), st.none(), st.none())
review = st.tuples(
    st.sampled_from(["RecordApproved", "RecordRejected", "RecordVoided", "RecordCorrected"]),
    st.integers(0, 30),  # which record, modulo those made so far
    st.none(),
    st.integers(-30, 30),  # the approved minutes above 30, or a correction's delta
)
histories = st.lists(st.one_of(record_event, carried_in, review), max_size=40)
Step = tuple[str, object, int | None, object]


def _apply(account: ServiceAccount, step: Step) -> None:
    kind, what, session, detail = step
    fact = SimpleNamespace(type=kind, org="team-a", occurred_at="2026-12-04T09:00:00Z")
    record_id = f"{NUMBER}-R{len(account.records) + 1}"
    if kind == "HoursRecorded":
        assert isinstance(detail, tuple)
        service_field, service_date, late = detail
        data = {
            "number": NUMBER,
            "record_id": record_id,
            "activity_id": what,
            "field": service_field,
            "service_date": service_date,
            "minutes": 60,
            "late": late,
            "attendance_session": session,
        }
    elif kind == "ServiceCarriedIn":
        data = {
            "number": NUMBER,
            "record_id": record_id,
            "minutes": 90,
            "peer_origin": "peer.example/log",
            "transfer_out_leaf": len(account.records),
        }
    elif not account.records:
        return
    else:
        assert isinstance(detail, int)
        data = {
            "record_id": list(account.records)[int(str(what)) % len(account.records)],
            "approved_minutes": 60 + detail,
            "delta_minutes": detail,
        }
    account.apply(fact, data)


def _scanned(account: ServiceAccount, activity_id: str) -> list[Record]:
    return [r for r in account.records.values() if r.activity_id == activity_id]


def _nonzero(figures: dict[str, int]) -> dict[str, int]:
    return {key: value for key, value in figures.items() if value}


def _answers(account: ServiceAccount) -> dict[str, Any]:
    figures = account.balance_figures()
    return {
        "activities": {
            activity: (
                [r.record_id for r in account.records_of_activity(activity)],
                account.times_credited(activity),
                [r.attendance_session for r in account.records_of_activity(activity)],
            )
            for activity in [*ACTIVITIES, ""]
        },
        "figures": (
            figures.approved_records,
            figures.late_records,
            _nonzero(figures.by_field),
            _nonzero(figures.by_year),
            _nonzero(account.credited_by_org),
        ),
    }


def _by_scanning(account: ServiceAccount) -> dict[str, Any]:
    records = account.records.values()
    by_field: dict[str, int] = defaultdict(int)
    by_year: dict[str, int] = defaultdict(int)
    by_org: dict[str, int] = defaultdict(int)
    for r in records:
        by_field[r.service_field] += r.credited_minutes
        by_year[r.service_date[:4]] += r.credited_minutes
        by_org[r.recording_org] += r.credited_minutes
    return {
        "activities": {
            activity: (
                [r.record_id for r in _scanned(account, activity)],
                sum(1 for r in _scanned(account, activity) if r.status in COUNTING),
                [r.attendance_session for r in _scanned(account, activity)],
            )
            for activity in [*ACTIVITIES, ""]
        },
        "figures": (
            sum(1 for r in records if r.status == "approved"),
            sum(1 for r in records if r.late),
            _nonzero(by_field),
            _nonzero(by_year),
            _nonzero(by_org),
        ),
    }


@given(history=histories, first_asked=st.integers(0, 40))
def test_records_by_activity_and_balance_figures_answer_what_a_scan_answers(
    history: list[Step], first_asked: int
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
    history: list[Step], asked: bool
) -> None:
    """A snapshot written before the index and figures existed (no such fields) derives them
    when read."""
    account = ServiceAccount(uuid4())
    for step in history:
        _apply(account, step)
    if asked:
        _answers(account)
    saved = dumps_state(account, modules=MODEL_ONLY)
    older = json.loads(saved)
    older["fields"].pop("records_at", None)
    older["fields"].pop("figures", None)
    for data in (saved, json.dumps(older).encode()):
        restored = loads_state(data, modules=MODEL_ONLY)
        assert restored == account
        assert _answers(restored) == _by_scanning(account)
