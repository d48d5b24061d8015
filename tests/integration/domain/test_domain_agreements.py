"""Consent belongs to the volunteer's side: another organisation acts for a volunteer only with
a signed agreement from the volunteer's home organisation (docs/authority.md)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_support import Town, create_city, refused

from ledger import (
    AgreementMissingError,
    ConsentMissingError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)

City = tuple[Ledger, dict[str, str]]
BANK = "bank"


@pytest.fixture
def town(city: City) -> Town:
    return Town.build(*city)


@pytest.fixture
def memory_town(open_ledger: Callable[..., Ledger]) -> Town:
    ledger = open_ledger("memory://")
    return Town.build(ledger, create_city(ledger))


def _ask(town: Town, org: str, number: str, *rights: str) -> str:
    result = town.ledger.request_agreement(
        org, number=number, rights=list(rights), idempotency_key=town.key("ask")
    )
    return str(result.value.agreement_id)


def _agree(town: Town, org: str, number: str, *rights: str) -> str:
    agreement = _ask(town, org, number, *rights)
    home = town.ledger.volunteer(number)["home"]
    town.ledger.grant_agreement(
        home, number=number, agreement_id=agreement, idempotency_key=town.key("grant")
    )
    return agreement


def _bank_with_credit(town: Town) -> str:
    """A bank of the root; org-a's volunteer earns 60 minutes of credit."""
    town.ledger.open_time_bank("city", bank_id=BANK, idempotency_key=town.key("bank"))
    town.approved(60)
    return f"{BANK}:vol:{town.number}"


def test_the_five_takeover_steps_are_refused_each_naming_the_missing_agreement(
    town: Town,
) -> None:
    ledger, victim = town.ledger, town.number  # org-a's volunteer; org-b is hostile
    account = _bank_with_credit(town)
    ledger.give_consent(
        "org-a", number=victim, purpose="share-personal-data", idempotency_key="c-own"
    )
    ledger.personal_data.put(victim, {"name": "张三", "phone": "13800000000"})

    with refused(ledger, AgreementMissingError) as caught:
        ledger.personal_data_of("org-b", victim)
    with refused(ledger, AgreementMissingError) as joined:
        ledger.join("org-b", number=victim, idempotency_key="take-1")
    with refused(ledger, AgreementMissingError) as consented:
        ledger.give_consent(
            "org-b", number=victim, purpose="share-personal-data", idempotency_key="take-2"
        )
    with refused(ledger, AgreementMissingError) as moved:
        ledger.transfer_credit(
            "org-b",
            bank_id=BANK,
            from_account=account,
            to_account=f"{BANK}:org:org-b",
            amount=10,
            idempotency_key="take-3",
        )
    found = [c.value for c in (caught, joined, consented, moved)]
    assert [e.right for e in found] == ["personal-data", "membership", "consent", "credit"]  # type: ignore[attr-defined]
    assert {e.home for e in found} == {"org-a"}  # type: ignore[attr-defined]
    assert ledger.volunteer(victim)["members_of"] == ["org-a"]
    assert ledger.account(account)["balance"] == 60


def test_each_right_is_granted_alone_and_used_only_as_granted(town: Town) -> None:
    ledger, number = town.ledger, town.number
    account = _bank_with_credit(town)
    _agree(town, "org-b", number, "membership")
    ledger.join("org-b", number=number, idempotency_key="join")
    assert ledger.volunteer(number)["members_of"] == ["org-a", "org-b"]
    with refused(ledger, AgreementMissingError, match="'consent'"):
        ledger.give_consent("org-b", number=number, purpose="photos", idempotency_key="c")
    with refused(ledger, AgreementMissingError, match="'personal-data'"):
        ledger.personal_data_of("org-b", number)
    with refused(ledger, AgreementMissingError, match="'credit'"):
        ledger.transfer_credit(
            "org-b",
            bank_id=BANK,
            from_account=account,
            to_account=f"{BANK}:org:org-b",
            amount=5,
            idempotency_key="credit-1",
        )
    _agree(town, "org-b", number, "consent", "personal-data", "credit")
    ledger.give_consent("org-b", number=number, purpose="share-personal-data", idempotency_key="c2")
    ledger.personal_data.put(number, {"name": "王芳"})
    assert ledger.personal_data_of("org-b", number) == {"name": "王芳"}
    ledger.transfer_credit(
        "org-b",
        bank_id=BANK,
        from_account=account,
        to_account=f"{BANK}:org:org-b",
        amount=5,
        idempotency_key="credit-2",
    )
    assert ledger.account(account)["balance"] == 55


def test_only_the_home_organisation_answers_an_agreement(memory_town: Town) -> None:
    town = memory_town
    ledger, number = town.ledger, town.number
    agreement = _ask(town, "org-b", number, "membership")
    for impostor in ("org-b", "city", "station-a1"):
        with refused(ledger, KeyNotAuthorisedError, match="home organisation 'org-a'"):
            ledger.grant_agreement(
                impostor, number=number, agreement_id=agreement, idempotency_key=town.key("g")
            )
    ledger.decline_agreement(
        "org-a",
        number=number,
        agreement_id=agreement,
        reason="not known to us",
        idempotency_key="decline",
    )
    with refused(ledger, RuleViolationError, match="already declined"):
        ledger.grant_agreement(
            "org-a", number=number, agreement_id=agreement, idempotency_key="late-grant"
        )
    with refused(ledger, AgreementMissingError):
        ledger.join("org-b", number=number, idempotency_key="join")
    with refused(ledger, NotFoundError):
        ledger.grant_agreement(
            "org-a",
            number=number,
            agreement_id="00000000-0000-4000-8000-000000000000",
            idempotency_key="unknown",
        )
    with refused(ledger, RuleViolationError, match="needs no agreement"):
        _ask(town, "org-a", number, "membership")


def test_a_withdrawn_agreement_allows_nothing_new(memory_town: Town) -> None:
    town = memory_town
    ledger, number = town.ledger, town.number
    agreement = _agree(town, "org-b", number, "membership", "consent")
    ledger.join("org-b", number=number, idempotency_key="join")
    ledger.withdraw_agreement(
        "org-a",
        number=number,
        agreement_id=agreement,
        reason="volunteer asked",
        idempotency_key="withdraw",
    )
    with refused(ledger, AgreementMissingError):
        ledger.give_consent("org-b", number=number, purpose="photos", idempotency_key="c")
    ledger.leave("org-a", number=number, member="org-b", idempotency_key="end-membership")
    assert ledger.volunteer(number)["members_of"] == ["org-a"]
    with refused(ledger, AgreementMissingError):
        ledger.join("org-b", number=number, idempotency_key="rejoin")
    agreements = ledger.volunteer(number)["agreements"]
    assert agreements[agreement]["status"] == "withdrawn"


def test_the_home_organisation_cannot_leave_and_a_transfer_moves_the_home(
    memory_town: Town,
) -> None:
    town = memory_town
    ledger, number = town.ledger, town.number
    with refused(ledger, RuleViolationError, match="home organisation"):
        ledger.leave("org-a", number=number, idempotency_key="leave")
    _agree(town, "org-b", number, "membership")
    ledger.join("org-b", number=number, idempotency_key="join")
    with refused(ledger, KeyNotAuthorisedError, match="home organisation 'org-a'"):
        ledger.request_transfer("org-b", number=number, to_org="city", idempotency_key="t1")
    transfer = ledger.request_transfer(
        "org-a", number=number, to_org="station-a1", idempotency_key="t2"
    ).value.transfer_id
    ledger.accept_transfer(
        "station-a1", number=number, transfer_id=transfer, idempotency_key="accept"
    )
    assert ledger.volunteer(number)["home"] == "station-a1"
    with refused(ledger, AgreementMissingError, match="'station-a1'"):
        ledger.give_consent("org-a", number=number, purpose="photos", idempotency_key="old-home")
    ledger.give_consent("station-a1", number=number, purpose="photos", idempotency_key="new-home")


def test_a_transfer_asked_by_a_former_home_cannot_be_accepted(town: Town) -> None:
    """org-a asks to move its volunteer to city and to org-b; org-b accepts and is the home.
    city's acceptance of org-a's old request would make city a member of org-b's volunteer
    without org-b's agreement: refused, storing nothing; city may decline it, and org-b may ask
    for a transfer to city itself."""
    ledger, number = town.ledger, town.number
    stale = ledger.request_transfer(
        "org-a", number=number, to_org="city", idempotency_key="to-city"
    ).value.transfer_id
    moved = ledger.request_transfer(
        "org-a", number=number, to_org="org-b", idempotency_key="to-b"
    ).value.transfer_id
    ledger.accept_transfer("org-b", number=number, transfer_id=moved, idempotency_key="b")
    with refused(ledger, KeyNotAuthorisedError, match="no longer volunteer"):
        ledger.accept_transfer("city", number=number, transfer_id=stale, idempotency_key="c")
    assert ledger.volunteer(number)["members_of"] == ["org-b"]
    fresh = ledger.request_transfer(
        "org-b", number=number, to_org="city", idempotency_key="b-to-city"
    ).value.transfer_id
    ledger.decline_transfer(
        "city", number=number, transfer_id=stale, reason="old", idempotency_key="d"
    )
    ledger.accept_transfer("city", number=number, transfer_id=fresh, idempotency_key="c2")
    assert ledger.volunteer(number)["home"] == "city"


def test_personal_data_needs_the_volunteers_consent_even_for_the_home_and_above(
    memory_town: Town,
) -> None:
    town = memory_town
    ledger, number = town.ledger, town.number
    ledger.personal_data.put(number, {"name": "李四"})
    for reader in ("org-a", "city"):
        with pytest.raises(ConsentMissingError):
            ledger.personal_data_of(reader, number)
    ledger.give_consent(
        "org-a", number=number, purpose="share-personal-data", idempotency_key="consent"
    )
    assert ledger.personal_data_of("city", number) == {"name": "李四"}
    assert ledger.personal_data_of("org-a", number) == {"name": "李四"}
    with pytest.raises(AgreementMissingError):
        ledger.personal_data_of("station-a1", number)  # below the home: not above it
