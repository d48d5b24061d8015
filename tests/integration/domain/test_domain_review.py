"""The life of a record after it is made: approval or rejection, correction, void."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_support import Town, create_city, event_data, proven_in_log, refused, result_types

from ledger import (
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.model.service import service_account_id

City = tuple[Ledger, dict[str, str]]


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


# approval


def test_an_approved_record_counts_towards_the_balance(town: Town) -> None:
    record_id = town.record(town.activity(), 150)
    result = town.approve(record_id)
    assert result_types(result) == ["RecordApproved"]
    (data,) = event_data(town.ledger, result, "RecordApproved")
    assert data["approved_minutes"] == 150 and data["reason"] is None
    status = town.ledger.record_status(record_id)
    assert (status["status"], status["credited_minutes"]) == ("approved", 150)
    assert town.approved_minutes() == 150


@pytest.mark.parametrize("reviewer", ["station-a1", "org-a", "city"])
def test_the_recording_organisation_or_one_above_it_approves(
    memory_town: Town, reviewer: str
) -> None:
    record_id = memory_town.record(memory_town.activity("station-a1"), 60, org="station-a1")
    memory_town.approve(record_id, reviewer)
    assert memory_town.ledger.record_status(record_id)["events"][-1]["org"] == reviewer
    assert memory_town.approved_minutes() == 60


@pytest.mark.parametrize("reviewer", ["org-b", "station-a1"])
def test_an_organisation_beside_or_below_the_recorder_cannot_approve(
    memory_town: Town, reviewer: str
) -> None:
    record_id = memory_town.record(memory_town.activity(), 60)
    with refused(memory_town.ledger, KeyNotAuthorisedError, match="reviewed by 'org-a'"):
        memory_town.approve(record_id, reviewer)
    with refused(memory_town.ledger, KeyNotAuthorisedError):
        memory_town.ledger.reject_record(
            reviewer, record_id=record_id, reason="not ours", idempotency_key="reject"
        )
    assert memory_town.ledger.record_status(record_id)["status"] == "recorded"


def test_fewer_minutes_may_be_approved_with_a_reason(town: Town) -> None:
    record_id = town.record(town.activity(), 180)
    with refused(town.ledger, RuleViolationError, match="needs a reason"):
        town.approve(record_id, approved_minutes=120)
    result = town.approve(record_id, approved_minutes=120, reason="left two hours early")
    (data,) = event_data(town.ledger, result, "RecordApproved")
    assert (data["approved_minutes"], data["reason"]) == (120, "left two hours early")
    status = town.ledger.record_status(record_id)
    assert (status["minutes"], status["credited_minutes"]) == (180, 120)
    assert town.approved_minutes() == 120


def test_no_more_minutes_than_recorded_are_approved(town: Town) -> None:
    record_id = town.record(town.activity(), 60)
    with refused(town.ledger, RuleViolationError, match="more than the 60 minutes"):
        town.approve(record_id, approved_minutes=61, reason="generous")


@pytest.mark.parametrize("approved", [0, -10])
def test_approved_minutes_are_positive(memory_town: Town, approved: int) -> None:
    """Approving nothing is a rejection; zero or fewer minutes are refused, not read as 'all'."""
    record_id = memory_town.record(memory_town.activity(), 60)
    with refused(memory_town.ledger, InvalidInputError):
        memory_town.approve(record_id, approved_minutes=approved, reason="did nothing")
    assert memory_town.ledger.record_status(record_id)["status"] == "recorded"


def test_a_record_is_reviewed_once(town: Town) -> None:
    record_id = town.record(town.activity(), 60)
    town.approve(record_id)
    with refused(town.ledger, RuleViolationError, match="is approved, not awaiting review"):
        town.approve(record_id, "city")
    with refused(town.ledger, RuleViolationError, match="not awaiting review"):
        town.ledger.reject_record(
            "org-a", record_id=record_id, reason="changed mind", idempotency_key="reject"
        )


def test_an_unknown_record_is_not_found(town: Town) -> None:
    for record_id in (f"{town.number}-R9", "VAAAAAAAAAAAAA-R1"):
        with refused(town.ledger, NotFoundError):
            town.approve(record_id)
        with pytest.raises(NotFoundError):
            town.ledger.record_status(record_id)
    with refused(town.ledger, InvalidInputError, match="not a record id"):
        town.approve("not-a-record")


def test_many_records_are_approved_together_all_or_nothing(town: Town) -> None:
    ledger = town.ledger
    first = town.record(town.activity(), 60)
    second = town.record(town.activity(), 90, number=town.other)
    foreign = town.record(town.activity("org-b"), 30, number=town.stranger, org="org-b")
    with refused(ledger, KeyNotAuthorisedError):
        ledger.approve_records(
            "org-a",
            approvals=[{"record_id": first}, {"record_id": second}, {"record_id": foreign}],
            idempotency_key="batch",
        )
    assert ledger.record_status(first)["status"] == "recorded"
    result = ledger.approve_records(
        "org-a",
        approvals=[
            {"record_id": first},
            {"record_id": second, "approved_minutes": 60, "reason": "late start"},
        ],
        idempotency_key="batch-2",
    )
    assert result_types(result) == ["RecordApproved", "RecordApproved"]
    assert town.approved_minutes() == 60
    assert town.approved_minutes(town.other) == 60


# rejection


def test_a_rejected_record_counts_for_nothing(town: Town) -> None:
    ledger = town.ledger
    record_id = town.record(town.activity(), 60)
    with refused(ledger, InvalidInputError):
        ledger.reject_record("org-a", record_id=record_id, reason="", idempotency_key="r0")
    result = ledger.reject_record(
        "org-a", record_id=record_id, reason="not on the sign-in sheet", idempotency_key="r1"
    )
    assert result_types(result) == ["RecordRejected"]
    status = ledger.record_status(record_id)
    assert (status["status"], status["credited_minutes"]) == ("rejected", 0)
    assert [e["type"] for e in status["events"]] == ["HoursRecorded", "RecordRejected"]
    assert town.approved_minutes() == 0
    with refused(ledger, RuleViolationError, match="is rejected"):
        town.approve(record_id)


# correction


def test_a_correction_amends_an_approved_record_and_leaves_the_original_as_it_was(
    town: Town,
) -> None:
    ledger = town.ledger
    record_id = town.approved(240)
    account = service_account_id(town.number)
    original = ledger.event(account, 1)
    original_bytes = bytes(original.envelope)
    result = town.correct(record_id, -45)
    assert result_types(result) == ["RecordCorrected"]
    (data,) = event_data(ledger, result, "RecordCorrected")
    assert data == {
        "record_id": record_id,
        "number": town.number,
        "delta_minutes": -45,
        "reason": "volunteer reported an error",
    }
    assert town.approved_minutes() == 195
    status = ledger.record_status(record_id)
    assert (status["status"], status["minutes"], status["credited_minutes"]) == (
        "corrected",
        240,
        195,
    )
    assert [e["type"] for e in status["events"]] == [
        "HoursRecorded",
        "RecordApproved",
        "RecordCorrected",
    ]
    # The original still reads back, verified, byte for byte; and it is provably in the log.
    again = ledger.event(account, 1)
    assert bytes(again.envelope) == original_bytes
    assert again.data["minutes"] == 240
    assert original.leaf_index is not None and proven_in_log(ledger, original.leaf_index)


def test_corrections_add_up_either_way(town: Town) -> None:
    record_id = town.approved(120)
    town.correct(record_id, +30)
    town.correct(record_id, -60)
    assert town.approved_minutes() == 90
    assert town.ledger.record_status(record_id)["credited_minutes"] == 90


@pytest.mark.parametrize("stage", ["recorded", "rejected", "voided"])
def test_only_approved_records_are_corrected(memory_town: Town, stage: str) -> None:
    record_id = memory_town.record(memory_town.activity(), 60)
    if stage == "rejected":
        memory_town.ledger.reject_record(
            "org-a", record_id=record_id, reason="no", idempotency_key="r"
        )
    elif stage == "voided":
        memory_town.void(record_id)
    with refused(memory_town.ledger, RuleViolationError, match=f"only approved.*is {stage}"):
        memory_town.correct(record_id, 10)


def test_a_correction_changes_the_minutes_and_gives_a_reason(town: Town) -> None:
    ledger = town.ledger
    record_id = town.approved(120)
    with refused(ledger, InvalidInputError, match="not 0"):
        town.correct(record_id, 0)
    with refused(ledger, InvalidInputError):
        ledger.correct_record(
            "org-a", record_id=record_id, delta_minutes=10, reason="", idempotency_key="c"
        )


def test_a_correction_cannot_take_a_record_below_zero(town: Town) -> None:
    record_id = town.approved(120)
    with refused(town.ledger, RuleViolationError, match="-1 minutes"):
        town.correct(record_id, -121)
    town.correct(record_id, -120)
    assert town.approved_minutes() == 0


def test_corrections_are_made_by_the_recorder_or_above(town: Town) -> None:
    record_id = town.approved(120)
    with refused(town.ledger, KeyNotAuthorisedError):
        town.correct(record_id, 10, "org-b")
    town.correct(record_id, 10, "city")
    assert town.approved_minutes() == 130


# void


@pytest.mark.parametrize(
    ("recorder", "voider"),
    [("org-a", "city"), ("station-a1", "org-a"), ("station-a1", "city")],
)
def test_an_authority_above_the_recorder_voids_a_record(
    memory_town: Town, recorder: str, voider: str
) -> None:
    record_id = memory_town.approved(120, org=recorder)
    result = memory_town.void(record_id, voider)
    assert result_types(result) == ["RecordVoided"]
    (data,) = event_data(memory_town.ledger, result, "RecordVoided")
    assert data["grounds"] == "spot check found no service was given"
    assert memory_town.approved_minutes() == 0


@pytest.mark.parametrize(
    ("recorder", "voider"),
    [("org-a", "org-a"), ("org-a", "org-b"), ("org-a", "station-a1"), ("station-a1", "org-b")],
    ids=["itself", "a-sibling", "below", "outside"],
)
def test_no_one_but_an_authority_strictly_above_voids(
    memory_town: Town, recorder: str, voider: str
) -> None:
    record_id = memory_town.approved(120, org=recorder)
    with refused(memory_town.ledger, KeyNotAuthorisedError, match="only an authority above"):
        memory_town.void(record_id, voider)
    assert memory_town.approved_minutes() == 120


def test_a_voided_record_counts_for_nothing_but_stays_provable(town: Town) -> None:
    ledger = town.ledger
    kept = town.approved(60)
    voided = town.approved(120)
    town.correct(voided, 30)
    town.void(voided)
    assert town.approved_minutes() == 60
    status = ledger.record_status(voided)
    assert (status["status"], status["minutes"], status["credited_minutes"]) == ("voided", 120, 0)
    assert [e["type"] for e in status["events"]] == [
        "HoursRecorded",
        "RecordApproved",
        "RecordCorrected",
        "RecordVoided",
    ]
    for event in status["events"]:
        read = ledger.event(event["aggregate_id"], event["version"])
        assert read.type == event["type"] and read.data == event["data"]
        assert proven_in_log(ledger, event["leaf_index"])
    assert ledger.record_status(kept)["status"] == "approved"
    balance = ledger.volunteer_balance(town.number)
    assert balance["records"] == 2 and balance["approved_minutes"] == 60


def test_a_record_is_voided_once_and_is_then_closed(town: Town) -> None:
    record_id = town.record(town.activity(), 60)
    town.void(record_id)  # a record awaiting review may be voided too
    with refused(town.ledger, RuleViolationError, match="already voided"):
        town.void(record_id)
    with refused(town.ledger, RuleViolationError, match="is voided"):
        town.approve(record_id)


def test_a_void_needs_grounds(town: Town) -> None:
    record_id = town.approved(60)
    with refused(town.ledger, InvalidInputError):
        town.ledger.void_record("city", record_id=record_id, grounds="", idempotency_key="v")
