"""Volunteers: registration under a pseudonym, consent, membership and transfers."""

from __future__ import annotations

import itertools

import pytest
from core_support import SHAPE_ONLY, key_of, refused, volunteer_aggregate_id

from ledger import (
    AgreementMissingError,
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.audit import StoreSource, audit
from ledger.model.ids import is_volunteer_number, new_volunteer_number

City = tuple[Ledger, dict[str, str]]
UNKNOWN = "VAAAAAAAAAAAAA"
NO_TRANSFER = "00000000-0000-4000-8000-000000000000"


def types(ledger: Ledger, number: str) -> list[str]:
    return [e.type for e in ledger.events(volunteer_aggregate_id(number))]


# registration


def test_registering_a_volunteer_gives_a_random_pseudonymous_number(city: City) -> None:
    ledger, info = city
    number = info["number"]
    assert is_volunteer_number(number)
    other = ledger.register_volunteer("org-a", idempotency_key="vol-2").value.number
    assert other != number
    volunteer = ledger.volunteer(number)
    assert volunteer["registered_by"] == "org-a"
    assert volunteer["members_of"] == ["org-a"]
    assert volunteer["consents"] == {}
    assert volunteer["version"] == 1
    assert types(ledger, number) == ["VolunteerRegistered"]


def test_a_volunteer_number_can_be_chosen_but_never_reused(city: City) -> None:
    ledger, _ = city
    ledger.register_volunteer("org-a", idempotency_key="chosen", number="VABCDEFGHIJKLM")
    assert ledger.volunteer("VABCDEFGHIJKLM")["members_of"] == ["org-a"]
    with refused(ledger, RuleViolationError, match="already registered"):
        ledger.register_volunteer("org-b", idempotency_key="chosen-2", number="VABCDEFGHIJKLM")


def test_a_random_number_already_taken_is_drawn_again_and_changes_nothing(
    city: City, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A new number is not read before its first event: the store's uniqueness refuses a taken
    # one and the command draws again.
    ledger, info = city
    taken = info["number"]
    before = [e.envelope for e in ledger.events(volunteer_aggregate_id(taken))]
    draws = itertools.chain([taken, taken, "VBBBBBBBBBBBBB"], iter(new_volunteer_number, None))
    monkeypatch.setattr("ledger.commands.volunteers.new_volunteer_number", lambda: next(draws))
    result = ledger.register_volunteer("org-a", idempotency_key="vol-collides")
    assert result.value.number == "VBBBBBBBBBBBBB"
    assert [e.envelope for e in ledger.events(volunteer_aggregate_id(taken))] == before
    assert ledger.volunteer("VBBBBBBBBBBBBB")["version"] == 1
    replayed = ledger.register_volunteer("org-a", idempotency_key="vol-collides")
    assert replayed.replayed and replayed.value.number == "VBBBBBBBBBBBBB"
    report = audit(StoreSource(ledger), trust=ledger.trust_anchors(), progress=False)
    assert report.findings == [], report.findings


@SHAPE_ONLY
def test_a_malformed_volunteer_number_is_refused(city: City) -> None:
    ledger, _ = city
    for number in ["V123", "vABCDEFGHIJKLM", "VABCDEFGHIJKL1", "140402199001011234"]:
        with refused(ledger, InvalidInputError, match="number"):
            ledger.register_volunteer("org-a", idempotency_key="bad-number", number=number)


def test_an_unknown_volunteer_reads_as_not_found(city: City) -> None:
    ledger, _ = city
    with pytest.raises(NotFoundError, match=UNKNOWN):
        ledger.volunteer(UNKNOWN)


# consent


def test_consent_is_given_and_withdrawn_as_events(city: City) -> None:
    ledger, info = city
    number = info["number"]
    ledger.give_consent("org-a", number=number, purpose="certificate-name", idempotency_key="c1")
    assert ledger.volunteer(number)["consents"] == {"certificate-name": True}
    ledger.withdraw_consent(
        "org-a", number=number, purpose="certificate-name", idempotency_key="c2"
    )
    ledger.give_consent("org-a", number=number, purpose="public-listing", idempotency_key="c3")
    assert ledger.volunteer(number)["consents"] == {
        "certificate-name": False,
        "public-listing": True,
    }
    assert types(ledger, number) == [
        "VolunteerRegistered",
        "ConsentGiven",
        "ConsentWithdrawn",
        "ConsentGiven",
    ]


def test_only_the_home_organisation_records_consent_without_an_agreement(city: City) -> None:
    ledger, info = city
    with refused(ledger, AgreementMissingError, match="'consent'"):
        ledger.give_consent(
            "org-b", number=info["number"], purpose="certificate-name", idempotency_key="c1"
        )


@SHAPE_ONLY
def test_a_malformed_consent_purpose_is_refused(city: City) -> None:
    ledger, info = city
    for purpose in ["", "X", "Certificate", "has space", "a" * 60, "x1"]:
        with refused(ledger, InvalidInputError, match="purpose"):
            ledger.give_consent(
                "org-a", number=info["number"], purpose=purpose, idempotency_key="c"
            )


def test_consent_for_an_unknown_volunteer_is_not_found(city: City) -> None:
    ledger, _ = city
    with refused(ledger, NotFoundError, match=UNKNOWN):
        ledger.give_consent(
            "org-a", number=UNKNOWN, purpose="certificate-name", idempotency_key="c"
        )


# membership


def test_a_volunteer_joins_several_organisations_and_leaves_one(city: City) -> None:
    ledger, info = city
    number = info["number"]
    for org in ("org-b", "city"):
        asked = ledger.request_agreement(
            org, number=number, rights=["membership"], idempotency_key=f"ask-{org}"
        )
        ledger.grant_agreement(
            "org-a",
            number=number,
            agreement_id=asked.value.agreement_id,
            idempotency_key=f"grant-{org}",
        )
    ledger.join("org-b", number=number, idempotency_key="join-b")
    ledger.join("city", number=number, idempotency_key="join-city")
    assert ledger.volunteer(number)["members_of"] == ["city", "org-a", "org-b"]
    ledger.leave("city", number=number, idempotency_key="leave-city")
    assert ledger.volunteer(number)["members_of"] == ["org-a", "org-b"]
    assert types(ledger, number)[5:] == ["MembershipJoined", "MembershipJoined", "MembershipLeft"]


def test_joining_an_organisation_twice_is_refused(city: City) -> None:
    ledger, info = city
    with refused(ledger, RuleViolationError, match="already a member"):
        ledger.join("org-a", number=info["number"], idempotency_key="join-a-again")


def test_leaving_an_organisation_one_is_not_in_is_refused(city: City) -> None:
    ledger, info = city
    with refused(ledger, KeyNotAuthorisedError, match="not an organisation of volunteer"):
        ledger.leave("org-b", number=info["number"], idempotency_key="leave-b")


def test_joining_or_leaving_for_another_organisation_is_refused(city: City) -> None:
    ledger, info = city
    # org-a's key signing a MembershipJoined that says org-b.
    with refused(ledger, KeyNotAuthorisedError):
        ledger.join(
            "org-b", number=info["number"], idempotency_key="j", signer=key_of(ledger, "org-a")
        )


def test_joining_as_an_unknown_volunteer_is_not_found(city: City) -> None:
    ledger, _ = city
    with refused(ledger, NotFoundError, match=UNKNOWN):
        ledger.join("org-b", number=UNKNOWN, idempotency_key="join-unknown")


# transfers


def request(ledger: Ledger, number: str, to_org: str = "org-b", key: str = "t1") -> str:
    result = ledger.request_transfer("org-a", number=number, to_org=to_org, idempotency_key=key)
    return str(result.value.transfer_id)


def test_an_accepted_transfer_moves_the_membership(city: City) -> None:
    ledger, info = city
    number = info["number"]
    transfer_id = request(ledger, number)
    pending = ledger.volunteer(number)
    assert pending["transfers"][transfer_id] == {
        "from_org": "org-a",
        "to_org": "org-b",
        "status": "requested",
    }
    assert pending["members_of"] == ["org-a"]
    ledger.accept_transfer("org-b", number=number, transfer_id=transfer_id, idempotency_key="a1")
    moved = ledger.volunteer(number)
    assert moved["members_of"] == ["org-b"]
    assert moved["transfers"][transfer_id]["status"] == "accepted"
    assert moved["registered_by"] == "org-a"
    # The registration stays signed by the organisation that made it.
    assert ledger.events(volunteer_aggregate_id(number))[0].org == "org-a"
    # The new organisation now acts for the volunteer; the old one no longer does.
    ledger.give_consent("org-b", number=number, purpose="certificate-name", idempotency_key="c")
    with refused(ledger, KeyNotAuthorisedError):
        ledger.give_consent("org-a", number=number, purpose="public-listing", idempotency_key="c")


def test_a_declined_transfer_leaves_membership_unchanged(city: City) -> None:
    ledger, info = city
    number = info["number"]
    transfer_id = request(ledger, number)
    ledger.decline_transfer(
        "org-b",
        number=number,
        transfer_id=transfer_id,
        reason="no capacity",
        idempotency_key="d1",
    )
    volunteer = ledger.volunteer(number)
    assert volunteer["members_of"] == ["org-a"]
    assert volunteer["transfers"][transfer_id]["status"] == "declined"
    # After a decline, a new request to the same organisation may be made.
    request(ledger, number, key="t2")


def test_a_transfer_cannot_be_accepted_twice(city: City) -> None:
    ledger, info = city
    transfer_id = request(ledger, info["number"])
    ledger.accept_transfer(
        "org-b", number=info["number"], transfer_id=transfer_id, idempotency_key="a1"
    )
    with refused(ledger, RuleViolationError, match="already accepted"):
        ledger.accept_transfer(
            "org-b", number=info["number"], transfer_id=transfer_id, idempotency_key="a2"
        )


def test_a_transfer_cannot_be_accepted_by_the_wrong_organisation(city: City) -> None:
    ledger, info = city
    transfer_id = request(ledger, info["number"])
    for org in ("org-a", "city"):
        with refused(ledger, KeyNotAuthorisedError, match="receiving organisation"):
            ledger.accept_transfer(
                org, number=info["number"], transfer_id=transfer_id, idempotency_key="a-" + org
            )
    with refused(ledger, KeyNotAuthorisedError, match="receiving organisation"):
        ledger.decline_transfer(
            "org-a",
            number=info["number"],
            transfer_id=transfer_id,
            reason="r",
            idempotency_key="d-a",
        )


def test_a_transfer_cannot_be_accepted_after_it_was_declined(city: City) -> None:
    ledger, info = city
    transfer_id = request(ledger, info["number"])
    ledger.decline_transfer(
        "org-b",
        number=info["number"],
        transfer_id=transfer_id,
        reason="full",
        idempotency_key="d1",
    )
    with refused(ledger, RuleViolationError, match="already declined"):
        ledger.accept_transfer(
            "org-b", number=info["number"], transfer_id=transfer_id, idempotency_key="a1"
        )
    with refused(ledger, RuleViolationError, match="already declined"):
        ledger.decline_transfer(
            "org-b",
            number=info["number"],
            transfer_id=transfer_id,
            reason="again",
            idempotency_key="d2",
        )


def test_an_unknown_transfer_is_not_found(city: City) -> None:
    ledger, info = city
    with refused(ledger, NotFoundError, match=NO_TRANSFER):
        ledger.accept_transfer(
            "org-b", number=info["number"], transfer_id=NO_TRANSFER, idempotency_key="a1"
        )


@SHAPE_ONLY
def test_a_malformed_transfer_id_is_refused(city: City) -> None:
    ledger, info = city
    with refused(ledger, InvalidInputError, match="transfer_id"):
        ledger.accept_transfer(
            "org-b", number=info["number"], transfer_id="not-a-uuid", idempotency_key="a1"
        )


def test_only_the_home_organisation_requests_a_transfer(city: City) -> None:
    ledger, info = city
    with refused(ledger, KeyNotAuthorisedError, match="home organisation 'org-a'"):
        ledger.request_transfer("org-b", number=info["number"], to_org="city", idempotency_key="t")


def test_a_transfer_to_an_organisation_the_volunteer_is_in_is_refused(city: City) -> None:
    ledger, info = city
    with refused(ledger, RuleViolationError, match="already belongs"):
        ledger.request_transfer(
            "org-a", number=info["number"], to_org="org-a", idempotency_key="t-self"
        )
    asked = ledger.request_agreement(
        "org-b", number=info["number"], rights=["membership"], idempotency_key="ask"
    )
    ledger.grant_agreement(
        "org-a",
        number=info["number"],
        agreement_id=asked.value.agreement_id,
        idempotency_key="grant",
    )
    ledger.join("org-b", number=info["number"], idempotency_key="join-b")
    with refused(ledger, RuleViolationError, match="already belongs"):
        ledger.request_transfer(
            "org-a", number=info["number"], to_org="org-b", idempotency_key="t-member"
        )


def test_a_second_pending_transfer_to_the_same_organisation_is_refused(city: City) -> None:
    ledger, info = city
    request(ledger, info["number"])
    with refused(ledger, RuleViolationError, match="waiting"):
        request(ledger, info["number"], key="t2")


def test_a_transfer_to_an_unknown_organisation_is_not_found(city: City) -> None:
    ledger, info = city
    with refused(ledger, NotFoundError, match="nowhere"):
        ledger.request_transfer(
            "org-a", number=info["number"], to_org="nowhere", idempotency_key="t"
        )


@SHAPE_ONLY
def test_a_decline_needs_a_reason_of_reasonable_length(city: City) -> None:
    ledger, info = city
    transfer_id = request(ledger, info["number"])
    for reason in ("", "x" * 2001):
        with refused(ledger, InvalidInputError, match="reason"):
            ledger.decline_transfer(
                "org-b",
                number=info["number"],
                transfer_id=transfer_id,
                reason=reason,
                idempotency_key="d",
            )
