"""Recording service time: the rules a record must pass, late marking, and rosters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from domain_support import FIELD, FRIDAY, Town, create_city, event_data, refused, result_types

from ledger import (
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)

City = tuple[Ledger, dict[str, str]]
UNKNOWN_VOLUNTEER = "VAAAAAAAAAAAAA"
UNKNOWN_ACTIVITY = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def town(city: City) -> Town:
    """A town on each kind of store."""
    return Town.build(*city)


@pytest.fixture
def memory_town(open_ledger: Callable[..., Ledger]) -> Town:
    """A town in memory, for the many variants of a rule that another test checks on every
    kind of store: the rules do not depend on the store."""
    ledger = open_ledger("memory://")
    return Town.build(ledger, create_city(ledger))


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


# the record itself


def test_a_record_holds_what_the_rules_say_it_must(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity()
    result = ledger.record_hours(
        "org-a",
        activity_id=activity_id,
        number=town.number,
        minutes=150,
        content="Staffed the desk",
        occurred_at=FRIDAY + timedelta(days=1),
        idempotency_key="record",
    )
    assert result_types(result) == ["HoursRecorded"]
    (data,) = event_data(ledger, result, "HoursRecorded")
    assert data == {
        "record_id": f"{town.number}-R1",
        "number": town.number,
        "activity_id": activity_id,
        "field": FIELD,
        "minutes": 150,
        "service_date": "2025-03-07",
        "content": "Staffed the desk",
        "late": False,
    }
    assert result.value.record_id == f"{town.number}-R1"
    status = ledger.record_status(f"{town.number}-R1")
    assert status["status"] == "recorded"
    assert status["recording_org"] == "org-a"
    # Recorded but not approved: it counts for nothing yet.
    assert town.approved_minutes() == 0


def test_record_ids_count_up_per_volunteer(town: Town) -> None:
    first = town.record(town.activity(), 30)
    second = town.record(town.activity(), 30)
    theirs = town.record(town.activity(), 30, number=town.other)
    assert (first, second, theirs) == (
        f"{town.number}-R1",
        f"{town.number}-R2",
        f"{town.other}-R1",
    )


def test_a_record_without_content_takes_the_activity_title(town: Town) -> None:
    record_id = town.record(town.activity(), 45)
    events = town.ledger.record_status(record_id)["events"]
    assert events[0]["data"]["content"] == "Legal aid desk"


@pytest.mark.parametrize("minutes", [0, -30])
def test_minutes_must_be_positive(memory_town: Town, minutes: int) -> None:
    activity_id = memory_town.activity()
    with refused(memory_town.ledger, InvalidInputError, match="minutes"):
        memory_town.record(activity_id, minutes)


def test_minutes_are_whole_numbers(town: Town) -> None:
    activity_id = town.activity()
    with refused(town.ledger, InvalidInputError, match="minutes"):
        town.record(activity_id, 90.0)  # type: ignore[arg-type]


def test_minutes_are_within_the_activitys_limit(town: Town) -> None:
    activity_id = town.activity(max_minutes=120)
    with refused(town.ledger, RuleViolationError, match="limit of 120"):
        town.record(activity_id, 121)
    record_id = town.record(activity_id, 120)
    assert town.ledger.record_status(record_id)["minutes"] == 120


def test_the_service_date_lies_within_the_activity(town: Town) -> None:
    activity_id = town.activity(hours=48)  # Friday to Sunday
    monday = FRIDAY + timedelta(days=3)
    record_id = town.record(activity_id, 60, service_date=date(2025, 3, 9), occurred_at=monday)
    assert town.ledger.record_status(record_id)["service_date"] == "2025-03-09"
    with refused(town.ledger, RuleViolationError, match="outside the activity"):
        town.record(
            activity_id, 60, number=town.other, service_date=date(2025, 3, 10), occurred_at=monday
        )
    with refused(town.ledger, RuleViolationError, match="outside the activity"):
        town.record(activity_id, 60, number=town.other, service_date=date(2025, 3, 6))


# the daily limit


def test_a_volunteer_has_at_most_24_hours_a_day_across_records(town: Town) -> None:
    first = town.activity()
    second = town.activity()
    town.record(first, 20 * 60)
    with refused(town.ledger, RuleViolationError, match="more than 1440 minutes on 2025-03-07"):
        town.record(second, 4 * 60 + 1)
    town.record(second, 4 * 60)
    # Another volunteer, or another day, is not affected.
    town.record(second, 24 * 60, number=town.other)
    town.record(town.activity(start=FRIDAY + timedelta(days=1)), 60)


def test_a_single_record_cannot_exceed_a_day(town: Town) -> None:
    activity_id = town.activity(hours=72)
    with refused(town.ledger, InvalidInputError, match="minutes"):
        town.record(activity_id, 24 * 60 + 1)


def test_the_daily_limit_is_configurable_per_ledger(town: Town) -> None:
    ledger = town.ledger
    ledger.set_daily_limit("city", minutes=8 * 60, idempotency_key="limit")
    first, second = town.activity(), town.activity()
    town.record(first, 5 * 60)
    with refused(ledger, RuleViolationError, match="more than 480 minutes"):
        town.record(second, 3 * 60 + 1)
    town.record(second, 3 * 60)


def test_rejected_and_voided_records_free_their_day(town: Town) -> None:
    ledger = town.ledger
    rejected = town.record(town.activity(), 20 * 60)
    ledger.reject_record(
        "org-a", record_id=rejected, reason="not on the sign-in sheet", idempotency_key="reject"
    )
    voided = town.record(town.activity(), 20 * 60)
    town.void(voided)
    town.record(town.activity(), 20 * 60)


def test_approving_fewer_minutes_frees_the_difference_for_that_day(town: Town) -> None:
    record_id = town.record(town.activity(), 20 * 60)
    town.approve(record_id, approved_minutes=10 * 60, reason="left at noon")
    town.record(town.activity(), 14 * 60)


def test_a_correction_cannot_take_the_day_above_the_daily_limit(town: Town) -> None:
    """The limit holds across all of the day's records, corrections included."""
    first = town.approved(800)
    town.approved(600)
    with refused(town.ledger, RuleViolationError):
        town.correct(first, +300)
    assert town.approved_minutes() == 1400


# once per activity


def test_a_volunteer_is_credited_once_per_activity(town: Town) -> None:
    activity_id = town.activity()
    town.record(activity_id, 60)
    with refused(town.ledger, RuleViolationError, match="already credited"):
        town.record(activity_id, 30)
    town.record(activity_id, 60, number=town.other)


def test_an_activity_may_allow_repeats(town: Town) -> None:
    activity_id = town.activity(allow_repeats=True)
    town.record(activity_id, 60)
    town.record(activity_id, 30)
    assert town.ledger.volunteer_balance(town.number)["records"] == 2


def test_a_rejected_record_does_not_use_up_the_activity(town: Town) -> None:
    activity_id = town.activity()
    record_id = town.record(activity_id, 60)
    town.ledger.reject_record(
        "org-a", record_id=record_id, reason="wrong volunteer", idempotency_key="reject"
    )
    again = town.record(activity_id, 60)
    assert again != record_id


# who records, and for whom


def test_only_the_activitys_organisation_records_for_it(town: Town) -> None:
    activity_id = town.activity()
    for other in ("org-b", "city", "station-a1"):
        with refused(town.ledger, KeyNotAuthorisedError, match="only it records"):
            town.record(activity_id, 60, org=other)


def test_an_unregistered_volunteer_is_refused(town: Town) -> None:
    activity_id = town.activity()
    with refused(town.ledger, NotFoundError, match=UNKNOWN_VOLUNTEER):
        town.record(activity_id, 60, number=UNKNOWN_VOLUNTEER)


def test_a_malformed_volunteer_number_is_refused(town: Town) -> None:
    activity_id = town.activity()
    with refused(town.ledger, InvalidInputError):
        town.record(activity_id, 60, number="Zhang San")


def test_an_unknown_activity_is_refused(town: Town) -> None:
    with refused(town.ledger, NotFoundError, match="activity"):
        town.record(UNKNOWN_ACTIVITY, 60)


def test_an_organisation_records_volunteers_of_other_organisations(town: Town) -> None:
    """The activity's organisation certifies the hours, whoever the volunteer belongs to."""
    record_id = town.record(town.activity("org-b"), 60, org="org-b")
    assert town.ledger.record_status(record_id)["recording_org"] == "org-b"


# late records: more than 10 working days after the activity ended


@pytest.mark.parametrize(
    ("recorded_on", "late"),
    [
        (date(2025, 3, 7), False),  # the same day
        (date(2025, 3, 21), False),  # Friday: exactly 10 working days later
        (date(2025, 3, 22), False),  # Saturday: weekends do not count
        (date(2025, 3, 23), False),  # Sunday
        (date(2025, 3, 24), True),  # Monday: the 11th working day
        (date(2025, 6, 1), True),
    ],
)
def test_a_record_after_10_working_days_is_accepted_but_marked_late(
    memory_town: Town, recorded_on: date, late: bool
) -> None:
    activity_id = memory_town.activity()  # ends Friday 2025-03-07
    record_id = memory_town.record(activity_id, 60, occurred_at=at(recorded_on))
    status = memory_town.ledger.record_status(record_id)
    assert status["late"] is late
    assert status["events"][0]["occurred_at"] == f"{recorded_on.isoformat()}T12:00:00Z"
    assert memory_town.ledger.volunteer_balance(memory_town.number)["late_records"] == int(late)


def test_declared_holidays_are_not_working_days(town: Town) -> None:
    ledger = town.ledger
    ledger.declare_holidays("city", dates=["2025-03-18"], idempotency_key="holidays")
    activity_id = town.activity(allow_repeats=True)
    on_time = town.record(activity_id, 60, occurred_at=at(date(2025, 3, 24)))
    late = town.record(activity_id, 60, occurred_at=at(date(2025, 3, 25)))
    assert ledger.record_status(on_time)["late"] is False
    assert ledger.record_status(late)["late"] is True


def test_lateness_counts_from_the_end_of_the_activity(town: Town) -> None:
    activity_id = town.activity(hours=24 * 10)  # ends Monday 17 March
    on_time = town.record(activity_id, 60, occurred_at=at(date(2025, 3, 31)))
    assert town.ledger.record_status(on_time)["late"] is False


# rosters: many volunteers at once, all or nothing


def test_a_roster_records_every_volunteer_in_one_command(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity()
    result = ledger.record_roster(
        "org-a",
        activity_id=activity_id,
        occurred_at=FRIDAY + timedelta(days=1),
        idempotency_key="roster",
        entries=[
            {"number": town.number, "minutes": 120},
            {"number": town.other, "minutes": 90, "content": "Interpreting"},
            {"number": town.stranger, "minutes": 60},
        ],
    )
    assert result.value.record_ids == (
        f"{town.number}-R1",
        f"{town.other}-R1",
        f"{town.stranger}-R1",
    )
    assert result.value.record_id == f"{town.number}-R1"
    assert result_types(result) == ["HoursRecorded"] * 3
    minutes = [d["minutes"] for d in event_data(ledger, result, "HoursRecorded")]
    assert minutes == [120, 90, 60]
    leaves = [e.leaf_index for e in result.events]
    assert leaves == list(range(leaves[0], leaves[0] + 3))


@pytest.mark.parametrize(
    "bad_entry",
    [
        {"number": UNKNOWN_VOLUNTEER, "minutes": 60},
        {"number": "VALID-LOOKING", "minutes": 60},
        {"minutes": 60},
        {"number": "<other>", "minutes": 0},
        {"number": "<other>", "minutes": 24 * 60},
        {"number": "<number>", "minutes": 60},
    ],
    ids=["unregistered", "malformed", "no-number", "zero", "over-daily-limit", "repeat"],
)
def test_one_bad_roster_entry_stores_nothing(
    memory_town: Town, bad_entry: dict[str, object]
) -> None:
    activity_id = memory_town.activity()
    entry = {
        k: {"<other>": memory_town.other, "<number>": memory_town.number}.get(v, v)  # type: ignore[call-overload]
        for k, v in bad_entry.items()
    }
    with refused(memory_town.ledger, (InvalidInputError, NotFoundError, RuleViolationError)):
        memory_town.ledger.record_roster(
            "org-a",
            activity_id=activity_id,
            occurred_at=FRIDAY + timedelta(days=1),
            idempotency_key="roster",
            entries=[
                {"number": memory_town.number, "minutes": 60},
                {"number": memory_town.other, "minutes": 600},
                entry,
            ],
        )
    assert memory_town.ledger.volunteer_balance(memory_town.number)["records"] == 0
    assert memory_town.ledger.volunteer_balance(memory_town.other)["records"] == 0


def test_a_roster_checks_the_daily_limit_across_its_own_entries(town: Town) -> None:
    activity_id = town.activity(allow_repeats=True)
    with refused(town.ledger, RuleViolationError, match="more than 1440"):
        town.ledger.record_roster(
            "org-a",
            activity_id=activity_id,
            occurred_at=FRIDAY + timedelta(days=1),
            idempotency_key="roster",
            entries=[{"number": town.number, "minutes": 800}] * 2,
        )


def test_a_roster_has_1_to_1000_entries(town: Town) -> None:
    activity_id = town.activity()
    for entries in ([], [{"number": town.number, "minutes": 1}] * 1001):
        with refused(town.ledger, InvalidInputError, match="1 to 1000"):
            town.ledger.record_roster(
                "org-a", activity_id=activity_id, entries=entries, idempotency_key="roster"
            )


def test_a_roster_retried_with_its_key_stores_nothing_more(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity()
    entries = [{"number": town.number, "minutes": 60}, {"number": town.other, "minutes": 60}]
    first = ledger.record_roster(
        "org-a",
        activity_id=activity_id,
        entries=entries,
        idempotency_key="roster",
        occurred_at=FRIDAY + timedelta(days=1),
    )
    size = ledger.log_size()
    again = ledger.record_roster(
        "org-a",
        activity_id=activity_id,
        entries=entries,
        idempotency_key="roster",
        occurred_at=FRIDAY + timedelta(days=1),
    )
    assert again.replayed and again.value == first.value and again.events == first.events
    assert ledger.log_size() == size


# retries


def test_a_record_retried_after_its_organisations_key_was_revoked_returns_the_stored_result(
    town: Town,
) -> None:
    """The record was stored; the caller lost the answer and retries after a key rotation
    began. The retry signs nothing new, so it returns the first result, as every retry does."""
    ledger = town.ledger
    activity_id = town.activity()
    request = {
        "activity_id": activity_id,
        "number": town.number,
        "minutes": 60,
        "occurred_at": FRIDAY + timedelta(days=1),
        "idempotency_key": "record-once",
    }
    first = ledger.record_hours("org-a", **request)  # type: ignore[arg-type]
    (key,) = ledger._directory.active_keys("org-a")
    ledger.revoke_key(
        "city", for_org="org-a", key_id=key.key_id, reason="laptop lost", idempotency_key="rev"
    )
    ledger.refresh()  # the ledger knows of the revocation (any other read would do)
    assert ledger._directory.active_keys("org-a") == []
    size = ledger.log_size()
    again = ledger.record_hours("org-a", **request)  # type: ignore[arg-type]
    assert again.replayed and again.value == first.value
    assert ledger.log_size() == size


def test_hours_signed_before_a_key_was_revoked_still_count_and_verify(town: Town) -> None:
    ledger = town.ledger
    record_id = town.approved(90)
    activity_id = town.activity()
    (key,) = ledger._directory.active_keys("org-a")
    ledger.revoke_key(
        "city", for_org="org-a", key_id=key.key_id, reason="laptop lost", idempotency_key="rev"
    )
    with refused(ledger, KeyNotAuthorisedError):
        town.record(activity_id, 30)
    status = ledger.record_status(record_id)
    assert status["status"] == "approved" and status["credited_minutes"] == 90
    assert all(
        ledger.event(e["aggregate_id"], e["version"]).key_id == key.key_id for e in status["events"]
    )
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    town.record(activity_id, 30)
    assert town.approved_minutes() == 90
