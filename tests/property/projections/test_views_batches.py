"""Views apply a batch of events at once: the leaderboards sum the credit changes per ranking row
and write each row once; the volunteers, organisations and statistics views read the standings
of the records a batch reviews in one query and keep them for the batch. For any sequence of
events, however it is cut into batches, each leaves the rows that applying the events one at a
time leaves: the same minutes, and the same rows, including a row whose changes add up to zero
within one batch (an approval then a void), a review of a record the view does not hold
(ignored), a record recorded twice and reviewed between, and records of an organisation
registered in the same batch."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ledger.projections.base import ProjectedEvent, View
from ledger.projections.database import ViewDatabase
from ledger.projections.runner import VIEWS
from ledger.storage.url import parse_store_url

VIEW = VIEWS["leaderboards"]
BATCHED_VIEWS = ["leaderboards", "volunteers", "organisations", "statistics"]
ROOT = "city"
ORGS = {"county-a": ROOT, "county-b": ROOT, "station-a1": "county-a", "team-a1x": "station-a1"}
RECORDS = [f"rec-{i}" for i in range(4)]
NUMBERS = ["N1", "N2", "N3"]


def _event(position: int, kind: str, org: str, data: dict[str, Any]) -> ProjectedEvent:
    return ProjectedEvent(kind, org, data, "2026-01-01T00:00:00Z", position)


STEP = st.one_of(
    st.tuples(
        st.just("record"),
        st.sampled_from(RECORDS),
        st.sampled_from(NUMBERS),
        st.sampled_from([ROOT, *ORGS]),
        st.sampled_from(["2025", "2026"]),
    ),
    st.tuples(st.just("approve"), st.sampled_from(RECORDS), st.integers(0, 300)),
    st.tuples(st.just("correct"), st.sampled_from(RECORDS), st.integers(-60, 60)),
    st.tuples(st.just("reject"), st.sampled_from(RECORDS)),
    st.tuples(st.just("void"), st.sampled_from(RECORDS)),
    st.tuples(st.just("register"), st.sampled_from(NUMBERS)),
)


def history(steps: list[tuple[Any, ...]], register_after: int) -> list[ProjectedEvent]:
    """The root first; the other organisations after ``register_after`` steps (records made
    before that name an organisation the view does not know yet)."""
    names = {"name": "x", "region": "r"}
    events = [_event(1, "LedgerCreated", ROOT, {"root": {"org_id": ROOT, "kind": "city", **names}})]

    def add(kind: str, org: str, data: dict[str, Any]) -> None:
        events.append(_event(len(events) + 1, kind, org, data))

    for i, step in enumerate(steps):
        if i == register_after:
            for org, parent in ORGS.items():
                add(
                    "OrganisationRegistered",
                    parent,
                    {"org_id": org, "kind": "x", "parent": parent, **names},
                )
        name, record_id, *rest = step
        if name == "register":  # record_id: the volunteer's number
            add("VolunteerRegistered", ROOT, {"number": record_id})
        elif name == "record":
            number, org, year = rest
            add(
                "HoursRecorded",
                org,
                {
                    "record_id": record_id,
                    "number": number,
                    "service_date": f"{year}-03-01",
                    "activity_id": "act-1",
                    "field": "legal-aid",
                    "minutes": 60,
                    "late": False,
                },
            )
        elif name == "approve":
            add("RecordApproved", ROOT, {"record_id": record_id, "approved_minutes": rest[0]})
        elif name == "correct":
            add("RecordCorrected", ROOT, {"record_id": record_id, "delta_minutes": rest[0]})
        else:
            kind = "RecordRejected" if name == "reject" else "RecordVoided"
            add(kind, ROOT, {"record_id": record_id})
    return events


@contextmanager
def empty_view(view: View, url: str = "memory://") -> Iterator[ViewDatabase]:
    database = ViewDatabase(parse_store_url(url))
    with database.transaction() as cursor:
        for table in view.tables:
            cursor.execute(f"DROP TABLE IF EXISTS {table}")
        view.create(cursor)
    try:
        yield database
    finally:
        database.close()


def rows_after(
    batches: list[list[ProjectedEvent]], view: View = VIEW, url: str = "memory://"
) -> dict[str, list[tuple[Any, ...]]]:
    with empty_view(view, url) as database:
        for batch in batches:
            with database.transaction() as cursor:
                view.apply(cursor, batch)
        return {
            table: database.query(f"SELECT * FROM {table} ORDER BY {order}")
            for table, order in view.keys.items()
        }


def check_batches(
    name: str, url: str, steps: list[tuple[Any, ...]], register_after: int, cuts: set[int]
) -> None:
    view = VIEWS[name]
    events = history(steps, register_after)
    one_at_a_time = rows_after([[event] for event in events], view, url)
    bounds = [0, *sorted(c for c in cuts if c < len(events)), len(events)]
    batches = [events[a:b] for a, b in pairwise(bounds)]
    assert rows_after(batches, view, url) == one_at_a_time
    assert rows_after([events], view, url) == one_at_a_time


HISTORIES = given(
    steps=st.lists(STEP, max_size=40),
    register_after=st.integers(0, 12),
    cuts=st.sets(st.integers(1, 60)),
)


@pytest.mark.parametrize("name", BATCHED_VIEWS)
@settings(max_examples=100, deadline=None)
@HISTORIES
@example(  # reviewed before its organisation is registered, and again after, in one batch
    steps=[
        ("record", "rec-0", "N1", "team-a1x", "2026"),
        ("approve", "rec-0", 60),
        ("correct", "rec-0", 30),
    ],
    register_after=2,
    cuts=set(),
)
@example(  # recorded again after an approval, then reviewed, across and within batches
    steps=[
        ("record", "rec-1", "N2", "city", "2025"),
        ("approve", "rec-1", 45),
        ("record", "rec-1", "N3", "city", "2026"),
        ("correct", "rec-1", 15),
        ("void", "rec-1"),
    ],
    register_after=0,
    cuts={3, 5},
)
@example(  # a volunteer's counters bumped before the volunteer is registered, and after
    steps=[
        ("record", "rec-2", "N1", "city", "2026"),
        ("approve", "rec-2", 30),
        ("register", "N1"),
        ("correct", "rec-2", -10),
        ("record", "rec-3", "N1", "city", "2026"),
    ],
    register_after=0,
    cuts={4},
)
def test_batches_leave_the_rows_one_event_at_a_time_leaves(
    name: str, steps: list[tuple[Any, ...]], register_after: int, cuts: set[int]
) -> None:
    check_batches(name, "memory://", steps, register_after, cuts)


@pytest.mark.postgres
@pytest.mark.parametrize("name", BATCHED_VIEWS)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@HISTORIES
def test_batches_on_postgresql_leave_the_rows_one_event_at_a_time_leaves(
    postgres_schema: str,
    name: str,
    steps: list[tuple[Any, ...]],
    register_after: int,
    cuts: set[int],
) -> None:
    """The same on PostgreSQL, where a batch's rows are written set-wise (``unnest``)."""
    check_batches(name, postgres_schema, steps, register_after, cuts)


def test_an_approval_voided_in_the_same_batch_leaves_its_rows_at_zero() -> None:
    events = history(
        [
            ("record", "rec-0", "N1", "station-a1", "2026"),
            ("approve", "rec-0", 90),
            ("void", "rec-0"),
        ],
        register_after=0,
    )
    rows = rows_after([events])
    scopes = {"station-a1", "county-a", ROOT, ""}
    assert {
        (year, scope, number, minutes)
        for year, scope, number, minutes in rows["view_rank_volunteers"]
    } == {(year, scope, "N1", 0) for year in ("", "2026") for scope in scopes}
    assert rows["view_rank_records"] == [("rec-0", "N1", "station-a1", "2026", "voided", 0)]
    assert {org for org, _, minutes in rows["view_rank_organisations"] if minutes} == set()


def test_a_review_of_a_record_the_view_does_not_hold_changes_nothing() -> None:
    events = history([("approve", "rec-9", 60), ("void", "rec-9")], register_after=0)
    rows = rows_after([events])
    assert rows["view_rank_records"] == [] and rows["view_rank_volunteers"] == []


@pytest.mark.parametrize("name", ["volunteers", "organisations", "statistics"])
def test_a_batch_reads_the_standings_of_the_records_it_reviews_in_one_query(name: str) -> None:
    view = VIEWS[name]
    assert view.records is not None
    table = view.records.table
    recorded = history([("record", record_id, "N1", ROOT, "2026") for record_id in RECORDS], 0)
    reviews = [
        _event(
            len(recorded) + i + 1, "RecordApproved", ROOT, {"record_id": r, "approved_minutes": 30}
        )
        for i, r in enumerate([*RECORDS, "rec-unknown"])
    ]
    with empty_view(view) as database:
        with database.transaction() as cursor:
            view.apply(cursor, recorded)
        statements: list[str] = []
        database._connection().set_trace_callback(statements.append)
        with database.transaction() as cursor:
            view.apply(cursor, reviews)
        reads = [s for s in statements if s.startswith("SELECT") and f"FROM {table}" in s]
        assert len(reads) == 1, reads
        credited = database.query(f"SELECT record_id, credited, status FROM {table}")
    assert sorted(credited) == [(r, 30, "approved") for r in RECORDS]
