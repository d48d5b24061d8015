"""Activities and the ledger-wide settings the rules read (daily limit, holidays, fields)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from domain_support import FIELD, FRIDAY, Town, create_city, refused

from ledger import (
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.model.activities import activity_aggregate_id

City = tuple[Ledger, dict[str, str]]
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


def publish(town: Town, org: str = "org-a", **changes: object) -> str:
    options: dict[str, object] = {
        "title": "Legal aid desk",
        "field": FIELD,
        "place": "Community centre",
        "starts_at": FRIDAY,
        "ends_at": FRIDAY + timedelta(hours=4),
        "leader": "desk-lead",
        "content": "Answering legal questions",
        "idempotency_key": town.key("publish"),
    }
    options.update(changes)
    return str(town.ledger.publish_activity(org, **options).value.activity_id)  # type: ignore[arg-type]


# publishing


def test_an_organisation_publishes_an_activity_with_its_details(town: Town) -> None:
    ledger = town.ledger
    activity_id = publish(
        town, station="station-a1", max_minutes=180, allow_repeats=True, people_served=40
    )
    activity = ledger.activity(activity_id)
    assert activity["org"] == "org-a"
    assert activity["field"] == FIELD
    assert activity["station"] == "station-a1"
    assert activity["starts_at"] == "2025-03-07T09:00:00Z"
    assert activity["ends_at"] == "2025-03-07T13:00:00Z"
    assert activity["leader"] == "desk-lead"
    assert activity["max_minutes"] == 180
    assert activity["allow_repeats"] is True
    assert activity["people_served"] == 40
    assert activity["cancelled"] is False
    events = ledger.events(activity_aggregate_id(activity_id))
    assert [e.type for e in events] == ["ActivityPublished"]
    assert events[0].org == "org-a"


def test_activity_times_are_stored_to_whole_seconds(town: Town) -> None:
    activity_id = publish(
        town,
        starts_at=FRIDAY.replace(microsecond=123456),
        ends_at=FRIDAY.replace(microsecond=999999) + timedelta(hours=1),
    )
    activity = town.ledger.activity(activity_id)
    assert (activity["starts_at"], activity["ends_at"]) == (
        "2025-03-07T09:00:00Z",
        "2025-03-07T10:00:00Z",
    )


def test_an_activity_id_may_be_chosen_but_not_published_twice(town: Town) -> None:
    chosen = "11111111-2222-4333-8444-555555555555"
    assert publish(town, activity_id=chosen) == chosen
    with refused(town.ledger, RuleViolationError, match="already published"):
        publish(town, "org-b", activity_id=chosen)


def test_an_activity_ends_after_it_starts(town: Town) -> None:
    with refused(town.ledger, RuleViolationError, match="ends after it starts"):
        publish(town, ends_at=FRIDAY)


def test_an_unknown_service_field_is_refused_until_the_root_adds_it(town: Town) -> None:
    ledger = town.ledger
    with refused(ledger, RuleViolationError, match="unknown service field"):
        publish(town, field="river-cleaning")
    ledger.add_service_field("city", field="river-cleaning", idempotency_key="field")
    assert ledger.activity(publish(town, field="river-cleaning"))["field"] == "river-cleaning"
    with refused(ledger, RuleViolationError, match="already exists"):
        ledger.add_service_field("city", field="river-cleaning", idempotency_key="field-2")


def test_only_the_root_adds_service_fields(town: Town) -> None:
    with refused(town.ledger, KeyNotAuthorisedError, match="root authority"):
        town.ledger.add_service_field("org-a", field="river-cleaning", idempotency_key="f")


@pytest.mark.parametrize(
    "changes",
    [
        {"leader": "Zhang San (a personal name)"},
        {"field": "Legal Aid"},
        {"max_minutes": 0},
        {"people_served": -1},
        {"title": ""},
    ],
    ids=["leader-is-a-name", "field-not-a-slug", "zero-limit", "negative-served", "no-title"],
)
def test_malformed_activities_are_refused(memory_town: Town, changes: dict[str, object]) -> None:
    with refused(memory_town.ledger, InvalidInputError):
        publish(memory_town, **changes)


def test_a_station_must_be_in_the_publishers_part_of_the_tree(town: Town) -> None:
    with refused(town.ledger, RuleViolationError, match="station-a1"):
        publish(town, "org-b", station="station-a1")


# cancelling


def test_a_cancelled_activity_takes_no_new_records_but_old_ones_stand(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity(allow_repeats=True)
    before = town.record(activity_id, 60)
    ledger.cancel_activity(
        "org-a", activity_id=activity_id, reason="storm warning", idempotency_key="cancel"
    )
    assert ledger.activity(activity_id)["cancelled"] is True
    with refused(ledger, RuleViolationError, match="cancelled"):
        town.record(activity_id, 30, number=town.other)
    assert ledger.record_status(before)["status"] == "recorded"
    town.approve(before)
    assert town.approved_minutes() == 60


def test_an_activity_is_cancelled_by_its_organisation_or_one_above_it(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity("station-a1")
    with refused(ledger, KeyNotAuthorisedError, match="may cancel"):
        ledger.cancel_activity(
            "org-b", activity_id=activity_id, reason="not ours", idempotency_key="c-b"
        )
    ledger.cancel_activity("org-a", activity_id=activity_id, reason="merged", idempotency_key="c-a")
    with refused(ledger, RuleViolationError, match="already cancelled"):
        ledger.cancel_activity(
            "city", activity_id=activity_id, reason="again", idempotency_key="c-city"
        )


def test_cancelling_an_unknown_activity_is_not_found(town: Town) -> None:
    with refused(town.ledger, NotFoundError):
        town.ledger.cancel_activity(
            "org-a", activity_id=UNKNOWN_ACTIVITY, reason="?", idempotency_key="c"
        )
    with pytest.raises(NotFoundError):
        town.ledger.activity(UNKNOWN_ACTIVITY)


# ledger-wide settings


def test_only_the_root_sets_the_daily_limit_and_holidays(town: Town) -> None:
    ledger = town.ledger
    with refused(ledger, KeyNotAuthorisedError, match="root authority"):
        ledger.set_daily_limit("org-a", minutes=60, idempotency_key="limit")
    with refused(ledger, KeyNotAuthorisedError, match="root authority"):
        ledger.declare_holidays("org-a", dates=["2025-03-18"], idempotency_key="holidays")
    ledger.set_daily_limit("city", minutes=600, idempotency_key="limit")
    ledger.declare_holidays("city", dates=["2025-03-18"], idempotency_key="holidays")
    ledger.refresh()
    assert ledger.reference().daily_limit_minutes == 600
    assert "2025-03-18" in ledger.reference().holidays


@pytest.mark.parametrize("minutes", [0, -5, 24 * 60 + 1])
def test_a_daily_limit_is_between_one_minute_and_a_day(memory_town: Town, minutes: int) -> None:
    with refused(memory_town.ledger, InvalidInputError):
        memory_town.ledger.set_daily_limit("city", minutes=minutes, idempotency_key="limit")


def test_holidays_are_calendar_dates(town: Town) -> None:
    with refused(town.ledger, InvalidInputError):
        town.ledger.declare_holidays("city", dates=["18 March"], idempotency_key="h")
    with refused(town.ledger, InvalidInputError):
        town.ledger.declare_holidays("city", dates=[], idempotency_key="h")
