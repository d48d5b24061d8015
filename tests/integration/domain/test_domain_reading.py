"""Reading state from the events: a volunteer's balance, a record's status, an organisation's
figures, a time-bank account's history."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from domain_support import FIELD, Town, create_city

from ledger import InvalidInputError, Ledger, NotFoundError

City = tuple[Ledger, dict[str, str]]
LAST_YEAR = datetime(2024, 6, 14, 9, tzinfo=UTC)


@pytest.fixture
def town(city: City) -> Town:
    return Town.build(*city)


def test_a_volunteers_balance_by_field_year_and_recording_organisation(town: Town) -> None:
    ledger = town.ledger
    town.approved(120)  # legal aid, 2025, org-a
    town.approved(60, field="care-for-elderly-and-children")  # 2025, org-a
    corrected = town.approved(90, org="org-b")  # legal aid, 2025, org-b
    town.correct(corrected, -30, "org-b")
    old = town.activity(start=LAST_YEAR)
    town.approve(town.record(old, 45, occurred_at=LAST_YEAR + timedelta(days=1)))
    # None of these count:
    town.record(town.activity(), 500)  # not yet approved
    rejected = town.record(town.activity(), 400)
    ledger.reject_record("org-a", record_id=rejected, reason="no", idempotency_key="reject")
    town.void(town.approved(300))
    town.approved(999, number=town.other)  # someone else's

    balance = ledger.volunteer_balance(town.number)
    assert balance["number"] == town.number
    assert balance["approved_minutes"] == 120 + 60 + 60 + 45
    assert balance["by_field"] == {FIELD: 120 + 60 + 45, "care-for-elderly-and-children": 60}
    assert balance["by_year"] == {"2024": 45, "2025": 240}
    assert balance["by_recording_org"] == {"org-a": 225, "org-b": 60}
    assert balance["records"] == 7
    assert balance["late_records"] == 0
    assert balance["stars"] == {} and balance["honours"] == []


def test_a_new_volunteer_has_an_empty_balance(town: Town) -> None:
    balance = town.ledger.volunteer_balance(town.other)
    assert balance["approved_minutes"] == 0
    assert balance["by_field"] == balance["by_year"] == balance["by_recording_org"] == {}
    assert balance["records"] == 0


@pytest.mark.parametrize("number", ["not-a-number", "VAAAAAAAAAAAAA"])
def test_every_read_of_an_unregistered_volunteer_is_not_found(town: Town, number: str) -> None:
    for read in (
        town.ledger.volunteer,
        town.ledger.volunteer_balance,
        town.ledger.service_account,
    ):
        with pytest.raises(NotFoundError, match=f"volunteer {number} is not registered"):
            read(number)
    town.ledger.open_time_bank("city", bank_id="bank", idempotency_key="bank")
    with pytest.raises(NotFoundError, match=f"volunteer {number} is not registered"):
        town.ledger.account(f"bank:vol:{number}")


def test_reads_of_unknown_things_are_not_found_and_bad_ids_are_bad_input(town: Town) -> None:
    ledger = town.ledger
    ledger.open_time_bank("city", bank_id="bank", idempotency_key="bank")
    size = ledger.log_size()
    for read, args, why in [
        (ledger.account, ("elsewhere:vol:" + town.number,), "time bank 'elsewhere' is not"),
        (ledger.account, ("bank:org:org-nowhere",), "organisation 'org-nowhere'"),
        (ledger.attendance, ("no-such-activity", town.number), "activity no-such-activity"),
        (ledger.assessment_ranking, ("no-scheme", "2025"), "scheme no-scheme"),
        (ledger.record_status, (f"{town.number}-R99",), f"record {town.number}-R99"),
    ]:
        with pytest.raises(NotFoundError, match=why):
            read(*args)
    with pytest.raises(InvalidInputError, match="not an account id"):
        ledger.account("bank:nobody")
    assert ledger.log_size() == size, "a read stores nothing"


def test_a_records_status_comes_with_the_events_that_made_it(town: Town) -> None:
    ledger = town.ledger
    activity_id = town.activity()
    record_id = town.record(activity_id, 200)
    town.approve(record_id, "city", approved_minutes=180, reason="break taken")
    town.correct(record_id, 15)
    status = ledger.record_status(record_id)
    assert {k: v for k, v in status.items() if k != "events"} == {
        "record_id": record_id,
        "number": town.number,
        "status": "corrected",
        "minutes": 200,
        "credited_minutes": 195,
        "recording_org": "org-a",
        "activity_id": activity_id,
        "field": FIELD,
        "service_date": "2025-03-07",
        "late": False,
    }
    events = status["events"]
    assert [(e["type"], e["org"]) for e in events] == [
        ("HoursRecorded", "org-a"),
        ("RecordApproved", "city"),
        ("RecordCorrected", "org-a"),
    ]
    assert [e["version"] for e in events] == [1, 2, 3]
    assert events[1]["data"]["reason"] == "break taken"
    for event in events:
        stored = ledger.event_at(event["leaf_index"])
        assert stored.type == event["type"] and stored.data == event["data"]


def test_a_records_status_shows_only_its_own_events(town: Town) -> None:
    ledger = town.ledger
    first = town.approved(60)
    town.approved(70)
    ledger.grant_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=town.number,
        honour="Helper of the month",
        citation="steady service",
        granted_on=datetime(2025, 4, 1).date(),
        idempotency_key="honour",
    )
    events = ledger.record_status(first)["events"]
    assert {e["data"]["record_id"] for e in events} == {first}
    assert [e["type"] for e in events] == ["HoursRecorded", "RecordApproved"]


def test_an_organisations_recorded_and_approved_minutes_and_members(town: Town) -> None:
    ledger = town.ledger
    town.approved(100)
    town.approved(50, number=town.other)
    partly = town.record(town.activity(), 80)
    town.approve(partly, approved_minutes=60, reason="short")
    town.record(town.activity(), 40, number=town.other)  # awaiting review
    rejected = town.record(town.activity(), 30, number=town.stranger)
    ledger.reject_record("org-a", record_id=rejected, reason="no", idempotency_key="reject")
    town.void(town.approved(25))
    town.approved(70, number=town.stranger, org="org-b")
    figures = ledger.organisation_figures("org-a")
    assert figures == {
        "org_id": "org-a",
        "recorded_minutes": 100 + 50 + 80 + 40 + 30 + 25,
        "approved_minutes": 100 + 50 + 60,
        "members": sorted([town.number, town.other]),
    }
    assert ledger.organisation_figures("org-b") == {
        "org_id": "org-b",
        "recorded_minutes": 70,
        "approved_minutes": 70,
        "members": [town.stranger],
    }
    with pytest.raises(NotFoundError):
        ledger.organisation_figures("org-z")


def test_hours_stay_with_the_person_and_their_certifier_when_they_move(town: Town) -> None:
    ledger = town.ledger
    town.approved(100)
    moved = ledger.request_transfer(
        "org-a", number=town.number, to_org="org-b", idempotency_key="move"
    )
    ledger.accept_transfer(
        "org-b",
        number=town.number,
        transfer_id=moved.value.transfer_id,
        idempotency_key="accept",
    )
    balance = ledger.volunteer_balance(town.number)
    assert balance["approved_minutes"] == 100
    assert balance["by_recording_org"] == {"org-a": 100}
    assert ledger.organisation_figures("org-a")["approved_minutes"] == 100
    assert town.number not in ledger.organisation_figures("org-a")["members"]
    assert town.number in ledger.organisation_figures("org-b")["members"]
    assert ledger.organisation_figures("org-b")["approved_minutes"] == 0


def test_an_accounts_history_lists_every_movement(town: Town) -> None:
    ledger = town.ledger
    ledger.open_time_bank("city", bank_id="bank", idempotency_key="bank")
    record_id = town.approved(100)
    gift = ledger.transfer_credit(
        "org-a",
        bank_id="bank",
        from_account=f"bank:vol:{town.number}",
        to_account=f"bank:vol:{town.other}",
        amount=30,
        idempotency_key="gift",
    ).value.transfer_id
    ledger.reverse_transfer("city", bank_id="bank", transfer_id=gift, idempotency_key="undo")
    town.correct(record_id, -20)
    account = ledger.account(f"bank:vol:{town.number}")
    assert account["account"] == f"bank:vol:{town.number}"
    assert account["balance"] == 80
    history = sorted((m["kind"], m["amount"], m["reversed"]) for m in account["movements"].values())
    assert history == [
        ("clawed-back", -20, False),
        ("earned", 100, False),
        ("reversal", 30, False),
        ("transfer", -30, True),
    ]
    # Both sides of the original transfer show that it was reversed.
    assert ledger.account(f"bank:vol:{town.other}")["movements"][gift]["reversed"] is True


def test_an_unused_account_is_empty(town: Town) -> None:
    town.ledger.open_time_bank("city", bank_id="bank", idempotency_key="bank")
    for account in (f"bank:vol:{town.other}", "bank:org:org-b", "bank:issuing"):
        assert town.ledger.account(account) == {
            "account": account,
            "bank_id": "bank",
            "balance": 0,
            "movements": {},
        }


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_another_process_reads_the_same_state_from_the_store(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """A reader that opens the store afresh (a dashboard, a verifier) holds no private key and
    has run no command; it answers the same as the writer."""
    url = store_url_for(kind)
    writer = open_ledger(url)
    town = Town.build(writer, create_city(writer))
    writer.publish_star_scheme(
        "city", scheme_id="stars", name="Stars", thresholds_hours=[1, 2], idempotency_key="s"
    )
    writer.open_time_bank("city", bank_id="bank", idempotency_key="bank")
    record_id = town.approved(150)
    town.correct(record_id, -10)
    reader = open_ledger(url)
    balance = reader.volunteer_balance(town.number)
    assert balance == writer.volunteer_balance(town.number)
    assert balance["stars"] == {"stars": {"level": 2, "due_level": 2, "scheme_version": 1}}
    assert reader.record_status(record_id) == writer.record_status(record_id)
    assert reader.account(f"bank:vol:{town.number}")["balance"] == 140
    assert reader.organisation_figures("org-a") == writer.organisation_figures("org-a")
    # The writer goes on; the reader, still open, sees it.
    writer.revise_star_scheme(
        "city", scheme_id="stars", name="Stars", thresholds_hours=[1, 3], idempotency_key="s2"
    )
    # 150 minutes are under the revised second star (3 h): the next change reconciles to it.
    assert "StarWithdrawn" in [e.type for e in town.correct(record_id, +10).events]
    balance = reader.volunteer_balance(town.number)
    assert balance == writer.volunteer_balance(town.number)
    assert balance["stars"] == {"stars": {"level": 1, "due_level": 1, "scheme_version": 2}}


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_a_reader_sees_star_schemes_published_after_it_opened(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for(kind)
    writer = open_ledger(url)
    town = Town.build(writer, create_city(writer))
    reader = open_ledger(url)
    assert reader.volunteer_balance(town.number)["stars"] == {}
    writer.publish_star_scheme(
        "city", scheme_id="stars", name="Stars", thresholds_hours=[1, 2], idempotency_key="s"
    )
    expected = {"stars": {"level": 0, "due_level": 0, "scheme_version": 1}}
    assert writer.volunteer_balance(town.number)["stars"] == expected
    assert reader.volunteer_balance(town.number)["stars"] == expected
