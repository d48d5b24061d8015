"""Every command takes an idempotency key: a retry returns the first result and stores nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
from core_support import notification_count, refused, volunteer_aggregate_id

from ledger import IdempotencyConflictError, Ledger

City = tuple[Ledger, dict[str, str]]


@pytest.fixture
def city(city: City) -> City:
    """The shared city, where org-a (the volunteer's home) agreed that org-b may admit them."""
    ledger, info = city
    asked = ledger.request_agreement(
        "org-b", number=info["number"], rights=["membership"], idempotency_key="ask"
    )
    ledger.grant_agreement(
        "org-a",
        number=info["number"],
        agreement_id=asked.value.agreement_id,
        idempotency_key="grant",
    )
    return city


def test_a_retry_with_the_same_key_and_content_returns_the_first_result(city: City) -> None:
    ledger, info = city
    first = ledger.join("org-b", number=info["number"], idempotency_key="join-b")
    size, count = ledger.log_size(), notification_count(ledger)
    again = ledger.join("org-b", number=info["number"], idempotency_key="join-b")
    assert again.replayed is True
    assert first.replayed is False
    assert again.events == first.events
    assert again.value == first.value
    assert (ledger.log_size(), notification_count(ledger)) == (size, count)


def test_a_retried_registration_returns_the_first_volunteer_number(city: City) -> None:
    ledger, _ = city
    first = ledger.register_volunteer("org-b", idempotency_key="vol-b")
    size = ledger.log_size()
    again = ledger.register_volunteer("org-b", idempotency_key="vol-b")
    assert again.replayed
    assert again.value.number == first.value.number
    assert again.events == first.events
    assert ledger.log_size() == size


def test_a_retry_is_replayed_even_when_the_command_would_now_be_refused(city: City) -> None:
    ledger, info = city
    first = ledger.join("org-b", number=info["number"], idempotency_key="join-b")
    ledger.leave("org-b", number=info["number"], idempotency_key="leave-b")
    size = ledger.log_size()
    # A third join would be allowed, a duplicate join not; a retry of the first is neither.
    again = ledger.join("org-b", number=info["number"], idempotency_key="join-b")
    assert again.replayed and again.events == first.events
    assert ledger.log_size() == size
    assert ledger.volunteer(info["number"])["members_of"] == ["org-a"]


def test_a_retry_with_another_occurred_at_is_the_same_request(city: City) -> None:
    ledger, info = city
    first = ledger.give_consent(
        "org-a", number=info["number"], purpose="certificate-name", idempotency_key="c1"
    )
    again = ledger.give_consent(
        "org-a",
        number=info["number"],
        purpose="certificate-name",
        idempotency_key="c1",
        occurred_at=ledger.clock() - timedelta(minutes=1),
    )
    assert again.replayed and again.events == first.events


def test_the_same_key_with_different_content_is_a_conflict_and_stores_nothing(
    city: City,
) -> None:
    ledger, info = city
    ledger.give_consent(
        "org-a", number=info["number"], purpose="certificate-name", idempotency_key="c1"
    )
    with refused(ledger, IdempotencyConflictError, match="'c1'.*different request") as caught:
        ledger.give_consent(
            "org-a", number=info["number"], purpose="public-listing", idempotency_key="c1"
        )
    assert "new key" in str(caught.value)
    assert ledger.volunteer(info["number"])["consents"] == {"certificate-name": True}


def test_the_same_key_for_another_command_is_a_conflict(city: City) -> None:
    ledger, info = city
    with refused(ledger, IdempotencyConflictError):
        # "vol-1" registered the city's volunteer; joining with it is another request.
        ledger.join("org-a", number=info["number"], idempotency_key="vol-1")


def test_a_key_used_for_a_refused_command_stays_free(city: City) -> None:
    ledger, info = city
    with refused(ledger, Exception):
        ledger.join("org-a", number=info["number"], idempotency_key="k")  # already a member
    result = ledger.join("org-b", number=info["number"], idempotency_key="k")
    assert not result.replayed


def test_retried_result_names_the_same_stored_event(city: City) -> None:
    ledger, info = city
    first = ledger.join("org-b", number=info["number"], idempotency_key="join-b")
    again = ledger.join("org-b", number=info["number"], idempotency_key="join-b")
    ref = again.events[0]
    event = ledger.event(ref.aggregate_id, ref.version)
    assert event.leaf_index == first.events[0].leaf_index == ref.leaf_index
    assert event.notification_id == ref.notification_id
    assert ledger.event_at(ref.leaf_index).envelope == event.envelope
    assert [e.type for e in ledger.events(volunteer_aggregate_id(info["number"]))] == [
        "VolunteerRegistered",
        "AgreementRequested",
        "AgreementGranted",
        "MembershipJoined",
    ]


@pytest.mark.parametrize("times", [3])
def test_many_retries_store_one_event(city: City, times: int) -> None:
    ledger, info = city
    size = ledger.log_size()
    results = [
        ledger.request_transfer("org-a", number=info["number"], to_org="org-b", idempotency_key="t")
        for _ in range(times)
    ]
    assert ledger.log_size() == size + 1
    assert len({r.value.transfer_id for r in results}) == 1
    assert [r.replayed for r in results] == [False] + [True] * (times - 1)
