"""Awards: honours granted and revoked, star schemes as versioned data, stars issued
automatically when approved hours cross a threshold and withdrawn when they fall back under."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
from domain_support import Town, create_city, event_data, refused, result_types

from ledger import (
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.model.awards import star_scheme_aggregate_id
from ledger.model.ids import organisation_aggregate_id

City = tuple[Ledger, dict[str, str]]
GRANTED_ON = date(2025, 12, 5)


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


def grant(town: Town, org: str, recipient: str, kind: str = "volunteer") -> str:
    result = town.ledger.grant_honour(
        org,
        recipient_kind=kind,
        recipient=recipient,
        honour="Outstanding volunteer",
        citation="two hundred hours at the legal aid desk",
        granted_on=GRANTED_ON,
        idempotency_key=town.key("grant"),
    )
    return str(result.value.honour_id)


def revoke(town: Town, org: str, recipient: str, honour_id: str, kind: str = "volunteer") -> None:
    town.ledger.revoke_honour(
        org,
        recipient_kind=kind,
        recipient=recipient,
        honour_id=honour_id,
        reason="granted on a mistaken count",
        idempotency_key=town.key("revoke"),
    )


def scheme(
    town: Town, thresholds: list[int] | None, *, org: str = "city", scheme_id: str = "stars"
) -> None:
    town.ledger.publish_star_scheme(
        org,
        scheme_id=scheme_id,
        name="City stars",
        thresholds_hours=thresholds,
        idempotency_key=town.key("scheme"),
    )


def revise(town: Town, thresholds: list[int], *, org: str = "city") -> None:
    town.ledger.revise_star_scheme(
        org,
        scheme_id="stars",
        name="City stars, revised",
        thresholds_hours=thresholds,
        idempotency_key=town.key("revise"),
    )


def level(town: Town, number: str | None = None, scheme_id: str = "stars") -> int:
    return int(town.ledger.volunteer_balance(number or town.number)["stars"][scheme_id]["level"])


# honours


def test_an_organisation_grants_an_honour_to_its_volunteer(town: Town) -> None:
    honour_id = grant(town, "org-a", town.number)
    assert honour_id == f"{town.number}-H1"
    assert town.ledger.volunteer_balance(town.number)["honours"] == [
        {
            "honour_id": honour_id,
            "honour": "Outstanding volunteer",
            "granted_by": "org-a",
            "granted_on": "2025-12-05",
            "revoked": False,
        }
    ]
    assert grant(town, "city", town.number) == f"{town.number}-H2"
    assert "HonourGranted" in town.service_events()


def test_honours_are_granted_only_within_the_granters_part_of_the_tree(town: Town) -> None:
    with refused(town.ledger, KeyNotAuthorisedError, match="part of the organisation tree"):
        grant(town, "org-b", town.number)
    with refused(town.ledger, KeyNotAuthorisedError):
        grant(town, "station-a1", town.number)
    with refused(town.ledger, KeyNotAuthorisedError):
        grant(town, "org-a", "org-b", kind="organisation")


def test_an_honour_names_a_registered_recipient(town: Town) -> None:
    with refused(town.ledger, NotFoundError):
        grant(town, "city", "VAAAAAAAAAAAAA")
    with refused(town.ledger, NotFoundError):
        grant(town, "city", "org-z", kind="organisation")
    with refused(town.ledger, InvalidInputError):
        grant(town, "city", town.number, kind="team-of-the-year")


def test_an_authority_honours_an_organisation(town: Town) -> None:
    ledger = town.ledger
    honour_id = grant(town, "city", "org-a", kind="organisation")
    assert honour_id == "org-a-H1"
    events = ledger.events(organisation_aggregate_id("org-a"))
    assert events[-1].type == "OrganisationHonourGranted"
    assert events[-1].data["citation"] == "two hundred hours at the legal aid desk"
    revoke(town, "city", "org-a", honour_id, kind="organisation")
    assert ledger.events(organisation_aggregate_id("org-a"))[-1].type == (
        "OrganisationHonourRevoked"
    )


def test_an_honour_is_revoked_with_a_reason_by_its_granter_or_above(town: Town) -> None:
    ledger = town.ledger
    by_city = grant(town, "city", town.number)
    by_org = grant(town, "org-a", town.number)
    with refused(ledger, KeyNotAuthorisedError, match="'city' or above"):
        revoke(town, "org-a", town.number, by_city)
    revoke(town, "city", town.number, by_org)
    honours = {
        h["honour_id"]: h["revoked"] for h in ledger.volunteer_balance(town.number)["honours"]
    }
    assert honours == {by_city: False, by_org: True}
    with refused(ledger, RuleViolationError, match="already revoked"):
        revoke(town, "city", town.number, by_org)
    with refused(ledger, NotFoundError):
        revoke(town, "city", town.number, f"{town.number}-H9")
    with refused(ledger, InvalidInputError):
        ledger.revoke_honour(
            "city",
            recipient_kind="volunteer",
            recipient=town.number,
            honour_id=by_city,
            reason="",
            idempotency_key="no-reason",
        )


def test_the_granter_revokes_its_honour_after_the_volunteer_moved_away(town: Town) -> None:
    """Revoking is the granter's own act: it needs no place in the volunteer's part of the
    tree any more (docs/authority.md: the granting organisation or above)."""
    ledger = town.ledger
    by_org = grant(town, "org-a", town.number)
    asked = ledger.request_transfer(
        "org-a", number=town.number, to_org="org-b", idempotency_key=town.key("move")
    )
    ledger.accept_transfer(
        "org-b",
        number=town.number,
        transfer_id=str(asked.value.transfer_id),
        idempotency_key=town.key("accept"),
    )
    assert ledger.volunteer(town.number)["members_of"] == ["org-b"]
    with refused(ledger, KeyNotAuthorisedError, match="'org-a' or above"):
        revoke(town, "org-b", town.number, by_org)  # the new home did not grant it
    revoke(town, "org-a", town.number, by_org)
    honours = ledger.volunteer_balance(town.number)["honours"]
    assert [(h["honour_id"], h["revoked"]) for h in honours] == [(by_org, True)]


# star schemes


def test_the_default_scheme_is_100_300_600_1000_1500_hours(town: Town) -> None:
    scheme(town, None)
    (event,) = town.ledger.events(star_scheme_aggregate_id("stars"))
    assert event.type == "StarSchemePublished"
    assert event.data["thresholds_hours"] == [100, 300, 600, 1000, 1500]
    assert event.data["version"] == 1
    assert town.ledger.volunteer_balance(town.number)["stars"] == {
        "stars": {"level": 0, "due_level": 0, "scheme_version": 1}
    }


@pytest.mark.parametrize("thresholds", [[100, 100, 200], [300, 200], [100, 300, 250, 600]])
def test_thresholds_rise_strictly(memory_town: Town, thresholds: list[int]) -> None:
    with refused(memory_town.ledger, RuleViolationError, match="rise strictly"):
        scheme(memory_town, thresholds)
    scheme(memory_town, [1, 2])
    with refused(memory_town.ledger, RuleViolationError, match="rise strictly"):
        revise(memory_town, thresholds)


@pytest.mark.parametrize("thresholds", [[0, 100], [-1], list(range(1, 12))])
def test_thresholds_are_positive_hours_and_at_most_ten(
    memory_town: Town, thresholds: list[int]
) -> None:
    with refused(memory_town.ledger, InvalidInputError):
        scheme(memory_town, thresholds)


def test_a_scheme_is_published_once_and_revised_by_its_owner_only(town: Town) -> None:
    ledger = town.ledger
    scheme(town, [100, 200, 500, 800, 1000])
    with refused(ledger, RuleViolationError, match="revise it instead"):
        scheme(town, [1, 2])
    with refused(ledger, KeyNotAuthorisedError, match="owner only"):
        revise(town, [50, 100], org="org-a")
    revise(town, [50, 100])
    revise(town, [60, 120])
    events = ledger.events(star_scheme_aggregate_id("stars"))
    assert [(e.type, e.data["version"], e.data["thresholds_hours"]) for e in events] == [
        ("StarSchemePublished", 1, [100, 200, 500, 800, 1000]),
        ("StarSchemeRevised", 2, [50, 100]),
        ("StarSchemeRevised", 3, [60, 120]),
    ]


def test_a_scheme_is_revised_right_after_it_is_published(town: Town) -> None:
    """The next version is the stored scheme's plus one, whatever the ledger read before."""
    scheme(town, [100, 200])
    revise(town, [50, 100])
    revise(town, [60, 120])
    versions = [e.data["version"] for e in town.ledger.events(star_scheme_aggregate_id("stars"))]
    assert versions == [1, 2, 3]


def test_an_unknown_scheme_cannot_be_revised(town: Town) -> None:
    with refused(town.ledger, NotFoundError, match="stars"):
        revise(town, [1, 2])


# stars attained and withdrawn


def test_crossing_a_threshold_issues_a_star_in_the_approving_command(town: Town) -> None:
    ledger = town.ledger
    scheme(town, [2, 4, 6])
    town.approved(100)
    assert level(town) == 0
    record_id = town.record(town.activity(), 30)
    result = town.approve(record_id)
    assert result_types(result) == ["RecordApproved", "StarAttained"]
    (star,) = event_data(ledger, result, "StarAttained")
    assert star == {
        "number": town.number,
        "scheme_id": "stars",
        "scheme_version": 1,
        "level": 1,
        "record_id": record_id,
        "approved_minutes": 130,
    }
    # Stars are signed by the owner's automatic-awards key, not the approver's.
    attained = [e for e in result.events if e.type == "StarAttained"]
    read = ledger.event(attained[0].aggregate_id, attained[0].version)
    assert read.org == "city"
    assert ledger._directory.key(read.key_id).purpose == "automatic-awards"
    assert level(town) == 1


def test_crossing_several_thresholds_at_once_issues_one_star_per_level(town: Town) -> None:
    scheme(town, [2, 4, 6])
    record_id = town.record(town.activity(), 300)
    result = town.approve(record_id)
    stars = event_data(town.ledger, result, "StarAttained")
    assert [(s["level"], s["record_id"], s["approved_minutes"]) for s in stars] == [
        (1, record_id, 300),
        (2, record_id, 300),
    ]
    assert level(town) == 2


def test_an_approval_that_reaches_a_threshold_exactly_earns_the_star(town: Town) -> None:
    scheme(town, [2])
    result = town.approve(town.record(town.activity(), 120))
    assert result_types(result) == ["RecordApproved", "StarAttained"]


def test_no_star_without_crossing_a_threshold(town: Town) -> None:
    scheme(town, [2, 4])
    result = town.approve(town.record(town.activity(), 119))
    assert result_types(result) == ["RecordApproved"]
    town.approved(100)  # crosses level 1
    result = town.approve(town.record(town.activity(), 10))
    assert result_types(result) == ["RecordApproved"]
    assert level(town) == 1


def test_a_correction_under_a_threshold_withdraws_the_star(town: Town) -> None:
    ledger = town.ledger
    scheme(town, [2, 4])
    record_id = town.approved(250)
    assert level(town) == 2
    result = town.correct(record_id, -20)
    assert result_types(result) == ["RecordCorrected", "StarWithdrawn"]
    (withdrawn,) = event_data(ledger, result, "StarWithdrawn")
    assert (withdrawn["level"], withdrawn["record_id"], withdrawn["approved_minutes"]) == (
        2,
        record_id,
        230,
    )
    assert level(town) == 1
    result = town.correct(record_id, +20)
    assert result_types(result) == ["RecordCorrected", "StarAttained"]
    assert level(town) == 2


def test_a_void_withdraws_every_star_it_took_away(town: Town) -> None:
    scheme(town, [1, 2, 3])
    kept = town.approved(70)
    voided = town.approved(120)
    assert level(town) == 3
    result = town.void(voided)
    withdrawn = event_data(town.ledger, result, "StarWithdrawn")
    assert [(w["level"], w["record_id"], w["approved_minutes"]) for w in withdrawn] == [
        (3, voided, 70),
        (2, voided, 70),
    ]
    assert level(town) == 1
    assert town.ledger.record_status(kept)["credited_minutes"] == 70


def test_stars_never_change_without_an_event(town: Town) -> None:
    scheme(town, [1, 2])
    record_id = town.approved(130)
    town.correct(record_id, -80)
    town.correct(record_id, +5)
    town.void(record_id)
    types = [t for t in town.service_events() if t.startswith("Star")]
    assert types == ["StarAttained", "StarAttained", "StarWithdrawn", "StarWithdrawn"]
    assert level(town) == 0


def test_each_scheme_issues_its_own_stars(town: Town) -> None:
    town.ledger.new_key(
        "city", for_org="org-a", idempotency_key="org-a-auto", purpose="automatic-awards"
    )
    scheme(town, [1, 2], scheme_id="city-stars")
    scheme(town, [2], org="org-a", scheme_id="org-a-stars")
    result = town.approve(town.record(town.activity(), 130))
    stars = [
        (e.org, e.data["scheme_id"], e.data["level"])
        for e in (town.ledger.event(r.aggregate_id, r.version) for r in result.events)
        if e.type == "StarAttained"
    ]
    assert stars == [
        ("city", "city-stars", 1),
        ("city", "city-stars", 2),
        ("org-a", "org-a-stars", 1),
    ]
    assert level(town, scheme_id="city-stars") == 2
    assert level(town, scheme_id="org-a-stars") == 1


def test_a_revised_scheme_issues_new_stars_under_its_new_version(town: Town) -> None:
    scheme(town, [2, 4])
    town.approved(100)
    revise(town, [1, 4])
    balance = town.ledger.volunteer_balance(town.number)["stars"]["stars"]
    # A revision changes no star by itself: the next approval does, under the new version.
    assert balance == {"level": 0, "due_level": 1, "scheme_version": 2}
    result = town.approve(town.record(town.activity(), 5))
    (star,) = event_data(town.ledger, result, "StarAttained")
    assert (star["scheme_version"], star["level"], star["approved_minutes"]) == (2, 1, 105)


def test_a_revision_with_fewer_levels_withdraws_the_levels_it_no_longer_has(town: Town) -> None:
    scheme(town, [1, 2, 3])
    town.approved(200)
    assert level(town) == 3
    revise(town, [1])
    result = town.approve(town.record(town.activity(), 5))
    withdrawn = event_data(town.ledger, result, "StarWithdrawn")
    assert [(w["level"], w["scheme_version"]) for w in withdrawn] == [(3, 2), (2, 2)]
    assert town.ledger.volunteer_balance(town.number)["stars"]["stars"] == {
        "level": 1,
        "due_level": 1,
        "scheme_version": 2,
    }


def test_without_the_owners_automatic_key_an_approval_that_earns_a_star_stores_nothing(
    town: Town,
) -> None:
    ledger = town.ledger
    scheme(town, [1])
    record_id = town.record(town.activity(), 60)
    (auto,) = ledger._directory.active_keys("city", "automatic-awards")
    ledger.revoke_key(
        "city", for_org="city", key_id=auto.key_id, reason="rotated", idempotency_key="rev"
    )
    with refused(ledger, KeyNotAuthorisedError, match="automatic-awards"):
        town.approve(record_id)
    assert ledger.record_status(record_id)["status"] == "recorded"
    ledger.new_key("city", for_org="city", idempotency_key="auto-2", purpose="automatic-awards")
    assert result_types(town.approve(record_id)) == ["RecordApproved", "StarAttained"]
