"""The time bank: credit earned by approved service, capped, moved by double-entry transfers,
reversed at most once, and taken back when a correction or void reduces the service."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from domain_support import Town, create_city, event_data, refused, result_types

from ledger import (
    AgreementMissingError,
    InvalidInputError,
    KeyNotAuthorisedError,
    Ledger,
    NotFoundError,
    RuleViolationError,
)
from ledger.commands.timebank import TRANSFER_RECEIVERS
from ledger.envelope import sign_body
from ledger.model.timebank import account_aggregate_id
from ledger.results import NoValue
from ledger.signing import b64encode

City = tuple[Ledger, dict[str, str]]
BANK = "bank"
CITY_ACCOUNT = f"{BANK}:org:city"
ORG_A_ACCOUNT = f"{BANK}:org:org-a"
ORG_B_ACCOUNT = f"{BANK}:org:org-b"


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


def open_bank(town: Town, org: str = "city", bank_id: str = BANK, **rule: object) -> None:
    town.ledger.open_time_bank(org, bank_id=bank_id, idempotency_key=town.key("bank"), **rule)  # type: ignore[arg-type]


def vol(number: str, bank_id: str = BANK) -> str:
    return f"{bank_id}:vol:{number}"


def balance(town: Town, account_id: str) -> int:
    return int(town.ledger.account(account_id)["balance"])


def send(
    town: Town, org: str, source: str, target: str, amount: int, kind: str = "transfer"
) -> str:
    result = town.ledger.transfer_credit(
        org,
        bank_id=BANK,
        from_account=source,
        to_account=target,
        amount=amount,
        kind=kind,
        idempotency_key=town.key("send"),
    )
    return str(result.value.transfer_id)


def reverse(town: Town, transfer_id: str, org: str = "city") -> str:
    result = town.ledger.reverse_transfer(
        org, bank_id=BANK, transfer_id=transfer_id, idempotency_key=town.key("reverse")
    )
    return str(result.value.transfer_id)


def minted_less_clawed(ledger: Ledger) -> int:
    earned = sum(e.data["amount"] for e in ledger.events_of_types("CreditEarned"))
    clawed = sum(e.data["amount"] for e in ledger.events_of_types("CreditClawedBack"))
    return earned - clawed


def accounts_in_use(ledger: Ledger) -> set[str]:
    types = ("CreditEarned", "CreditClawedBack", "CreditSent", "CreditReceived")
    return {e.data["account"] for e in ledger.events_of_types(*types)}


def assert_sums_to_zero(town: Town) -> None:
    balances = {a: balance(town, a) for a in accounts_in_use(town.ledger)}
    assert all(b >= 0 for b in balances.values()), balances
    # The issuing account holds minus everything in circulation: the whole sums to zero.
    issuing = -minted_less_clawed(town.ledger)
    assert sum(balances.values()) + issuing == 0


# opening a bank


def test_a_bank_is_opened_with_its_rule(town: Town) -> None:
    open_bank(town, credit_numerator=1, credit_denominator=2, cap_minutes=600)
    town.ledger.refresh()
    info = town.ledger.reference().time_banks[BANK]
    assert (info.owner, info.credit_numerator, info.credit_denominator, info.cap_minutes) == (
        "city",
        1,
        2,
        600,
    )


def test_a_bank_id_and_an_organisations_bank_are_unique(town: Town) -> None:
    open_bank(town)
    with refused(town.ledger, RuleViolationError, match="already exists"):
        open_bank(town, "org-a")
    with refused(town.ledger, RuleViolationError, match="already runs a time bank"):
        open_bank(town, bank_id="second")


@pytest.mark.parametrize(
    ("rule", "error"),
    [
        ({"credit_numerator": 0}, InvalidInputError),
        ({"credit_denominator": 0}, InvalidInputError),
        ({"cap_minutes": 0}, InvalidInputError),
        ({"surplus_account": "other:org:city"}, RuleViolationError),
        ({"surplus_account": f"{BANK}:vol:VAAAAAAAAAAAAA"}, RuleViolationError),
        ({"surplus_account": f"{BANK}:org:org-z"}, NotFoundError),
    ],
)
def test_a_bank_rule_must_make_sense(
    memory_town: Town, rule: dict[str, object], error: type[Exception]
) -> None:
    with refused(memory_town.ledger, error):
        open_bank(memory_town, **rule)


# earning


def test_approved_minutes_earn_credit_at_the_banks_ratio(town: Town) -> None:
    ledger = town.ledger
    open_bank(town, credit_numerator=1, credit_denominator=2)
    record_id = town.record(town.activity(), 61)
    assert balance(town, vol(town.number)) == 0  # recorded is not approved
    result = town.approve(record_id)
    assert result_types(result) == ["RecordApproved", "CreditEarned"]
    (earned,) = event_data(ledger, result, "CreditEarned")
    assert (earned["account"], earned["amount"], earned["record_id"]) == (
        vol(town.number),
        30,
        record_id,
    )
    account = ledger.account(vol(town.number))
    assert account["balance"] == 30
    (movement,) = account["movements"].values()
    assert movement == {
        "counterparty": f"{BANK}:issuing",
        "amount": 30,
        "kind": "earned",
        "reversed": False,
    }
    # Credit is minted with the bank owner's automatic-awards key.
    minted = ledger.event(result.events[1].aggregate_id, result.events[1].version)
    assert minted.org == "city"
    assert ledger._directory.key(minted.key_id).purpose == "automatic-awards"
    assert_sums_to_zero(town)


def test_a_bank_covers_its_own_part_of_the_tree_nearest_first(town: Town) -> None:
    ledger = town.ledger
    ledger.new_key("city", for_org="org-a", idempotency_key="a-auto", purpose="automatic-awards")
    open_bank(town, "org-a", bank_id="a-bank")
    town.approved(60, org="station-a1")
    town.approved(40, org="org-a")
    town.approved(25, number=town.stranger, org="org-b")
    assert balance(town, vol(town.number, "a-bank")) == 100
    assert balance(town, vol(town.stranger, "a-bank")) == 0
    open_bank(town, "city", bank_id="city-bank")
    town.approved(25, number=town.stranger, org="org-b")
    town.approved(10, org="org-a")
    assert balance(town, vol(town.stranger, "city-bank")) == 25
    assert balance(town, vol(town.number, "city-bank")) == 0
    assert balance(town, vol(town.number, "a-bank")) == 110


def holding(number: str) -> str:
    return f"{BANK}:surplus:{number}"


def collect(town: Town, org: str, *numbers: str) -> dict[str, int]:
    result = town.ledger.collect_surplus(
        org, bank_id=BANK, numbers=list(numbers), idempotency_key=town.key("collect")
    )
    return dict(result.value.collected)


def test_credit_beyond_the_cap_waits_in_the_volunteers_surplus_holding(town: Town) -> None:
    ledger = town.ledger
    open_bank(town, cap_minutes=100, surplus_account=CITY_ACCOUNT)
    result = town.approve(town.record(town.activity(), 150))
    earned = event_data(ledger, result, "CreditEarned")
    assert [(e["account"], e["amount"]) for e in earned] == [
        (vol(town.number), 100),
        (holding(town.number), 50),
    ]
    town.approved(30)
    assert (balance(town, vol(town.number)), balance(town, holding(town.number))) == (100, 80)
    assert balance(town, CITY_ACCOUNT) == 0
    assert_sums_to_zero(town)


def test_no_approval_touches_an_account_shared_by_other_volunteers(town: Town) -> None:
    """Each approval's events land on the volunteer's own aggregates only, however many
    volunteers are over the cap: no account receives an event for every approval."""
    open_bank(town, cap_minutes=60, surplus_account=CITY_ACCOUNT)
    touched: dict[str, set[str]] = {}
    for number in (town.number, town.other):
        for _ in range(2):
            result = town.approve(town.record(town.activity(), 90, number=number))
            touched.setdefault(number, set()).update(e.aggregate_id for e in result.events)
    assert not touched[town.number] & touched[town.other]
    assert str(account_aggregate_id(CITY_ACCOUNT)) not in touched[town.number]
    assert_sums_to_zero(town)


def test_the_surplus_accounts_organisation_collects_holdings_to_spend_them(town: Town) -> None:
    open_bank(town, cap_minutes=100, surplus_account=CITY_ACCOUNT)
    town.approved(150)
    town.approved(130, number=town.other)
    with refused(town.ledger, RuleViolationError):
        send(town, "city", CITY_ACCOUNT, ORG_A_ACCOUNT, 10)
    assert collect(town, "city", town.number, town.other, town.stranger) == {
        town.number: 50,
        town.other: 30,
    }
    assert (balance(town, holding(town.number)), balance(town, CITY_ACCOUNT)) == (0, 80)
    assert collect(town, "city", town.number) == {}
    send(town, "city", CITY_ACCOUNT, ORG_A_ACCOUNT, 80, kind="donation")
    assert balance(town, ORG_A_ACCOUNT) == 80
    assert_sums_to_zero(town)


def test_a_holding_sends_credit_only_into_its_banks_surplus_account(town: Town) -> None:
    open_bank(town, cap_minutes=100, surplus_account=CITY_ACCOUNT)
    town.approved(150)
    for org, target, kind, error in (
        ("city", ORG_A_ACCOUNT, "collection", RuleViolationError),
        ("city", ORG_A_ACCOUNT, "transfer", RuleViolationError),
        ("city", vol(town.number), "donation", RuleViolationError),
        ("org-a", CITY_ACCOUNT, "collection", KeyNotAuthorisedError),
        ("org-b", CITY_ACCOUNT, "collection", KeyNotAuthorisedError),
    ):
        with refused(town.ledger, error):
            send(town, org, holding(town.number), target, 50, kind=kind)
    with refused(town.ledger, KeyNotAuthorisedError):
        collect(town, "org-a", town.number)
    with refused(town.ledger, RuleViolationError):
        send(town, "city", vol(town.number), CITY_ACCOUNT, 10, kind="collection")
    assert balance(town, holding(town.number)) == 50


def test_collecting_needs_a_bank_with_a_surplus_account_and_a_short_list(town: Town) -> None:
    open_bank(town, cap_minutes=100)
    for numbers, error in (
        ([town.number], InvalidInputError),
        ([], InvalidInputError),
        ([town.number, town.number], InvalidInputError),
    ):
        with refused(town.ledger, error):
            collect(town, "city", *numbers)
    with refused(town.ledger, NotFoundError):
        town.ledger.collect_surplus(
            "city", bank_id="no-bank", numbers=[town.number], idempotency_key="c-x"
        )


def test_surplus_is_never_minted_into_another_volunteers_holding(town: Town) -> None:
    """A holding is its volunteer's: minting names the volunteer whose record earned it."""
    from ledger.context import Context

    open_bank(town, cap_minutes=100, surplus_account=CITY_ACCOUNT)
    record_id = town.approved(150)

    def decide(ctx: Context) -> dict[str, object]:
        ctx.emit(
            "CreditEarned",
            account_aggregate_id(holding(town.other)),
            {
                "transfer_id": "6f1c1f56-6a55-4c31-a6de-6c2b5e0c6d01",
                "bank_id": BANK,
                "account": holding(town.other),
                "amount": 5,
                "record_id": record_id,
                "number": town.number,
            },
        )
        return {}

    with refused(town.ledger, RuleViolationError, match="held for the volunteer"):
        town.ledger._command(
            "city",
            "Forge",
            {},
            decide,
            result=NoValue,
            idempotency_key="forge",
            purpose="automatic-awards",
        )


def test_without_a_surplus_account_credit_beyond_the_cap_is_not_minted(town: Town) -> None:
    open_bank(town, cap_minutes=100)
    town.approved(150)
    assert balance(town, vol(town.number)) == 100
    assert minted_less_clawed(town.ledger) == 100


def test_a_correction_of_a_capped_record_never_mints_more(town: Town) -> None:
    """A record worth 150 minutes of credit, 100 held and 50 given as surplus, then corrected
    down to 140, has called for at most 150: nothing more may be minted for it."""
    ledger = town.ledger
    open_bank(town, cap_minutes=100, surplus_account=CITY_ACCOUNT)
    record_id = town.approved(150)
    result = town.correct(record_id, -10)
    assert "CreditEarned" not in result_types(result)
    assert balance(town, vol(town.number)) + balance(town, holding(town.number)) <= 150
    assert minted_less_clawed(ledger) <= 150


# taking credit back


def test_a_correction_down_takes_credit_back_and_up_earns_more(town: Town) -> None:
    ledger = town.ledger
    open_bank(town)
    record_id = town.approved(120)
    result = town.correct(record_id, -30)
    assert result_types(result) == ["RecordCorrected", "CreditClawedBack"]
    (clawed,) = event_data(ledger, result, "CreditClawedBack")
    assert (clawed["amount"], clawed["record_id"]) == (30, record_id)
    assert balance(town, vol(town.number)) == 90
    result = town.correct(record_id, +10)
    assert result_types(result) == ["RecordCorrected", "CreditEarned"]
    assert balance(town, vol(town.number)) == 100
    kinds = sorted(m["kind"] for m in ledger.account(vol(town.number))["movements"].values())
    assert kinds == ["clawed-back", "earned", "earned"]
    assert_sums_to_zero(town)


def test_a_void_takes_back_all_the_credit_the_record_earned(town: Town) -> None:
    open_bank(town)
    kept = town.approved(60)
    voided = town.approved(90)
    result = town.void(voided)
    assert result_types(result) == ["RecordVoided", "CreditClawedBack"]
    assert balance(town, vol(town.number)) == 60
    (clawed,) = event_data(town.ledger, result, "CreditClawedBack")
    assert (clawed["record_id"], clawed["amount"]) == (voided, 90)
    assert town.ledger.record_status(kept)["credited_minutes"] == 60
    assert_sums_to_zero(town)


def test_credit_already_given_away_is_taken_back_only_as_far_as_the_balance(town: Town) -> None:
    open_bank(town)
    record_id = town.approved(100)
    send(town, "org-a", vol(town.number), vol(town.other), 70)
    result = town.void(record_id)
    (clawed,) = event_data(town.ledger, result, "CreditClawedBack")
    assert clawed["amount"] == 30
    assert balance(town, vol(town.number)) == 0
    assert balance(town, vol(town.other)) == 70
    assert_sums_to_zero(town)


# transfers


def test_a_transfer_debits_one_account_and_credits_another_together(town: Town) -> None:
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    result = ledger.transfer_credit(
        "org-a",
        bank_id=BANK,
        from_account=vol(town.number),
        to_account=vol(town.other),
        amount=40,
        idempotency_key="send",
    )
    assert result_types(result) == ["CreditSent", "CreditReceived"]
    sent, received = (ledger.event(e.aggregate_id, e.version).data for e in result.events)
    transfer_id = result.value.transfer_id
    assert sent["transfer_id"] == received["transfer_id"] == transfer_id
    assert (sent["account"], sent["counterparty"], sent["amount"]) == (
        vol(town.number),
        vol(town.other),
        40,
    )
    assert (received["account"], received["counterparty"], received["amount"]) == (
        vol(town.other),
        vol(town.number),
        40,
    )
    assert (balance(town, vol(town.number)), balance(town, vol(town.other))) == (60, 40)
    assert ledger.account(vol(town.number))["movements"][transfer_id]["amount"] == -40
    assert ledger.account(vol(town.other))["movements"][transfer_id] == {
        "counterparty": vol(town.number),
        "amount": 40,
        "kind": "transfer",
        "reversed": False,
    }
    assert_sums_to_zero(town)


def test_a_volunteer_donates_credit_to_an_organisation(town: Town) -> None:
    open_bank(town)
    town.approved(100)
    send(town, "org-a", vol(town.number), ORG_A_ACCOUNT, 25, kind="donation")
    assert (balance(town, vol(town.number)), balance(town, ORG_A_ACCOUNT)) == (75, 25)
    # ...and the organisation passes it on to another.
    send(town, "org-a", ORG_A_ACCOUNT, ORG_B_ACCOUNT, 20)
    assert (balance(town, ORG_A_ACCOUNT), balance(town, ORG_B_ACCOUNT)) == (5, 20)
    assert_sums_to_zero(town)


def test_credit_is_redeemed_with_the_organisation_providing_the_service(town: Town) -> None:
    open_bank(town)
    town.approved(100)
    with refused(town.ledger, RuleViolationError, match="redeemed with the organisation"):
        send(town, "org-a", vol(town.number), vol(town.other), 10, kind="redemption")
    send(town, "org-a", vol(town.number), ORG_B_ACCOUNT, 10, kind="redemption")
    movement = next(iter(town.ledger.account(ORG_B_ACCOUNT)["movements"].values()))
    assert (movement["kind"], movement["amount"]) == ("redemption", 10)


def test_a_transfer_that_would_overdraw_is_refused(town: Town) -> None:
    open_bank(town)
    town.approved(50)
    with refused(town.ledger, RuleViolationError, match="cannot send 51"):
        send(town, "org-a", vol(town.number), vol(town.other), 51)
    with refused(town.ledger, RuleViolationError, match="cannot send 1"):
        send(town, "org-a", ORG_A_ACCOUNT, ORG_B_ACCOUNT, 1)
    send(town, "org-a", vol(town.number), vol(town.other), 50)
    assert balance(town, vol(town.number)) == 0


def test_a_transfer_may_not_push_a_volunteer_over_the_cap(town: Town) -> None:
    open_bank(town, cap_minutes=100)
    town.approved(80)
    town.approved(80, number=town.other)
    with refused(town.ledger, RuleViolationError, match="cap of 100"):
        send(town, "org-a", vol(town.other), vol(town.number), 21)
    send(town, "org-a", vol(town.other), vol(town.number), 20)


def test_who_may_move_credit_out_of_an_account(town: Town) -> None:
    open_bank(town)
    town.approved(100)
    with refused(town.ledger, AgreementMissingError, match="'credit'"):
        send(town, "org-b", vol(town.number), vol(town.other), 10)
    with refused(town.ledger, AgreementMissingError):
        send(town, "station-a1", vol(town.number), vol(town.other), 10)
    send(town, "org-a", vol(town.number), ORG_A_ACCOUNT, 30, kind="donation")
    with refused(town.ledger, KeyNotAuthorisedError, match="may not move credit"):
        send(town, "org-b", ORG_A_ACCOUNT, ORG_B_ACCOUNT, 10)
    # The bank's organisation runs organisation accounts, but a volunteer's credit moves only
    # with their home organisation (docs/authority.md).
    send(town, "city", ORG_A_ACCOUNT, ORG_B_ACCOUNT, 10)
    with refused(town.ledger, AgreementMissingError, match="home organisation 'org-a'"):
        send(town, "city", vol(town.number), vol(town.other), 10)


@pytest.mark.parametrize(
    ("target", "amount", "error"),
    [
        ("bank:vol:{me}", 10, RuleViolationError),
        ("bank:vol:{other}", 0, InvalidInputError),
        ("bank:vol:{other}", -5, InvalidInputError),
        ("other:vol:{other}", 10, RuleViolationError),
        ("bank:vol:VAAAAAAAAAAAAA", 10, NotFoundError),
        ("bank:org:org-z", 10, NotFoundError),
        ("bank:issuing", 10, InvalidInputError),
        ("not an account", 10, InvalidInputError),
    ],
    ids=["same", "zero", "negative", "other-bank", "unknown-vol", "unknown-org", "issuing", "junk"],
)
def test_malformed_transfers_are_refused(
    memory_town: Town, target: str, amount: int, error: type[Exception]
) -> None:
    open_bank(memory_town)
    memory_town.approved(100)
    target = target.format(me=memory_town.number, other=memory_town.other)
    with refused(memory_town.ledger, error):
        send(memory_town, "org-a", vol(memory_town.number), target, amount)


def test_a_transfer_in_an_unknown_bank_is_not_found(town: Town) -> None:
    with refused(town.ledger, NotFoundError, match="time bank"):
        send(town, "org-a", vol(town.number), vol(town.other), 10)


# reversals


def test_a_mistaken_transfer_is_reversed_by_a_new_transfer_pointing_at_it(town: Town) -> None:
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    size = ledger.log_size()
    reversal_id = reverse(town, transfer_id)
    assert reversal_id != transfer_id
    assert ledger.log_size() == size + 2
    assert (balance(town, vol(town.number)), balance(town, vol(town.other))) == (100, 0)
    receiver = ledger.account(vol(town.other))["movements"]
    assert receiver[transfer_id]["reversed"] is True
    assert receiver[reversal_id] == {
        "counterparty": vol(town.number),
        "amount": -40,
        "kind": "reversal",
        "reversed": False,
    }
    back = ledger.account(vol(town.number))["movements"][reversal_id]
    assert (back["amount"], back["kind"]) == (40, "reversal")
    sent = [e for e in ledger.events_of_types("CreditSent") if e.data["kind"] == "reversal"]
    assert [e.data["reverses"] for e in sent] == [transfer_id]
    # The original transfer is still there, unchanged.
    assert ledger.account(vol(town.number))["movements"][transfer_id]["amount"] == -40
    assert_sums_to_zero(town)


@pytest.mark.parametrize("side", ["receiver", "sender"])
def test_a_reversal_named_with_either_account_is_the_same_reversal(town: Town, side: str) -> None:
    """Given either account of the transfer, the ledger finds it there (its verified state)
    instead of among every credit movement, and reverses it exactly as without one."""
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    named = vol(town.other) if side == "receiver" else vol(town.number)
    result = ledger.reverse_transfer(
        "city", bank_id=BANK, transfer_id=transfer_id, account=named, idempotency_key="undo"
    )
    assert (balance(town, vol(town.number)), balance(town, vol(town.other))) == (100, 0)
    back = ledger.account(vol(town.number))["movements"][str(result.value.transfer_id)]
    assert (back["amount"], back["kind"], back["counterparty"]) == (40, "reversal", vol(town.other))
    assert ledger.account(vol(town.other))["movements"][transfer_id]["reversed"] is True


def test_an_account_outside_the_transfer_finds_nothing_and_stores_nothing(town: Town) -> None:
    """Another account, one of another bank or an unknown one cannot stand in for the
    transfer's: the reversal is refused as unknown, whatever else that account holds."""
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    other_transfer = send(town, "org-a", vol(town.number), ORG_B_ACCOUNT, 10)
    minted = next(ledger.events_of_types("CreditEarned")).data
    earned, earner = minted["transfer_id"], minted["account"]
    for account, reversing in (
        (ORG_B_ACCOUNT, transfer_id),  # a party of another transfer, not of this one
        (vol(town.number, bank_id="elsewhere"), transfer_id),  # the sender, in another bank
        (vol("VAAAAAAAAAAAAA"), transfer_id),  # nobody's
        (earner, earned),  # minted credit is no transfer, named by its account too
    ):
        with refused(ledger, NotFoundError):
            ledger.reverse_transfer(
                "city",
                bank_id=BANK,
                transfer_id=reversing,
                account=account,
                idempotency_key=town.key("undo"),
            )
    assert ledger.account(ORG_B_ACCOUNT)["movements"][other_transfer]["reversed"] is False
    assert balance(town, vol(town.other)) == 40


def stored_receiver(ledger: Ledger, transfer_id: str) -> bytes | None:
    return ledger._recorder.side_get(TRANSFER_RECEIVERS, f"{BANK}/{transfer_id}")


def test_a_reversal_not_told_an_account_reads_the_receiver_stored_with_the_transfer(
    town: Town,
) -> None:
    """Every transfer the ledger stages stores its receiving account beside its events; a
    reversal not told an account tries it, and searches no credit movement when it holds."""
    ledger = town.ledger
    open_bank(town, cap_minutes=100, surplus_account=CITY_ACCOUNT)
    town.approved(150)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    assert stored_receiver(ledger, transfer_id) == vol(town.other).encode()

    def no_search(bank_id: str, transfer_id: str) -> list[object]:
        raise AssertionError("the reversal searched every credit movement")

    ledger._sides_searched = no_search  # type: ignore[assignment,method-assign]
    reversal_id = reverse(town, transfer_id)
    assert (balance(town, vol(town.number)), balance(town, vol(town.other))) == (100, 0)
    assert ledger.account(vol(town.other))["movements"][transfer_id]["reversed"] is True
    assert stored_receiver(ledger, reversal_id) == vol(town.number).encode()
    collect(town, "city", town.number)
    (collection,) = [
        t for t, m in ledger.account(CITY_ACCOUNT)["movements"].items() if m["kind"] == "collection"
    ]
    assert stored_receiver(ledger, collection) == CITY_ACCOUNT.encode()
    reverse(town, collection)
    assert (balance(town, holding(town.number)), balance(town, CITY_ACCOUNT)) == (50, 0)


def test_a_transfer_signed_outside_the_ledger_stores_its_receiver_too(town: Town) -> None:
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    signer = ledger.signer_for("org-a")
    params = {
        "bank_id": BANK,
        "from_account": vol(town.number),
        "to_account": vol(town.other),
        "amount": 40,
        "idempotency_key": "signed-outside",
    }
    draft = ledger.draft("transfer_credit", "org-a", key_id=signer.key_id, params=params)
    ledger.submit_signed(
        [
            (text, b64encode(sign_body(body, signer)[1]))
            for text, body in zip(draft.texts(), draft.bodies, strict=True)
        ]
    )
    (received,) = [b["data"] for b in draft.bodies if b["type"] == "CreditReceived"]
    assert stored_receiver(ledger, received["transfer_id"]) == vol(town.other).encode()

    def no_search(bank_id: str, transfer_id: str) -> list[object]:
        raise AssertionError("the reversal searched every credit movement")

    ledger._sides_searched = no_search  # type: ignore[assignment,method-assign]
    reverse(town, received["transfer_id"])
    assert (balance(town, vol(town.number)), balance(town, vol(town.other))) == (100, 0)


def test_a_refused_transfer_stores_no_receiver(town: Town) -> None:
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    before = ledger._recorder.side_items(TRANSFER_RECEIVERS)
    with refused(ledger, RuleViolationError):
        send(town, "org-a", vol(town.number), vol(town.other), 400)
    assert ledger._recorder.side_items(TRANSFER_RECEIVERS) == before


@pytest.mark.parametrize(
    "change", ["another transfer's receiver", "the sender", "not an account", "deleted"]
)
def test_a_changed_stored_receiver_cannot_misdirect_a_reversal(town: Town, change: str) -> None:
    """The stored receiver is not signed: the operator can change it in the database. The
    reversal believes it only where both accounts' verified states hold the transfer's two
    sides (as the sender's do); otherwise it searches, and undoes exactly the transfer named."""
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    other_transfer = send(town, "org-a", vol(town.number), ORG_B_ACCOUNT, 10)
    key = f"{BANK}/{transfer_id}"
    if change == "deleted":
        ledger._recorder.side_delete(TRANSFER_RECEIVERS, key)
    else:
        value = {
            "another transfer's receiver": ORG_B_ACCOUNT.encode(),
            "the sender": vol(town.number).encode(),
            "not an account": b"\xff" + BANK.encode() + b":vol:",
        }[change]
        ledger._recorder.side_put(TRANSFER_RECEIVERS, key, value)
    searched: list[str] = []
    search = ledger._sides_searched

    def counted(bank_id: str, transfer_id: str) -> Any:
        searched.append(transfer_id)
        return search(bank_id, transfer_id)

    ledger._sides_searched = counted  # type: ignore[method-assign]
    reverse(town, transfer_id)
    assert searched == ([] if change == "the sender" else [transfer_id])
    assert (balance(town, vol(town.number)), balance(town, vol(town.other))) == (90, 0)
    assert balance(town, ORG_B_ACCOUNT) == 10
    assert ledger.account(ORG_B_ACCOUNT)["movements"][other_transfer]["reversed"] is False
    assert_sums_to_zero(town)


def test_a_transfer_is_reversed_at_most_once(town: Town) -> None:
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    reverse(town, transfer_id)
    send(town, "org-a", vol(town.number), vol(town.other), 50)  # the receiver could pay again
    with refused(town.ledger, RuleViolationError, match="already reversed"):
        reverse(town, transfer_id)


def test_reversals_are_made_by_the_banks_organisation(town: Town) -> None:
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    with refused(town.ledger, KeyNotAuthorisedError, match="bank's organisation"):
        reverse(town, transfer_id, "org-a")


def test_a_reversal_cannot_overdraw_the_receiver(town: Town) -> None:
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    send(town, "org-a", vol(town.other), ORG_B_ACCOUNT, 30, kind="redemption")
    with refused(town.ledger, RuleViolationError, match="cannot send 40"):
        reverse(town, transfer_id)


def test_only_a_known_transfer_is_reversed_and_only_in_full(town: Town) -> None:
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    with refused(ledger, NotFoundError):
        reverse(town, "00000000-0000-4000-8000-000000000000")
    # Minted credit is no transfer: it is taken back by correcting the record.
    earned = next(ledger.events_of_types("CreditEarned")).data["transfer_id"]
    with refused(ledger, NotFoundError):
        reverse(town, earned)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    with refused(ledger, RuleViolationError, match="in full"):
        ledger.transfer_credit(
            "city",
            bank_id=BANK,
            from_account=vol(town.other),
            to_account=vol(town.number),
            amount=20,
            kind="reversal",
            reverses=transfer_id,
            idempotency_key="partial",
        )
    with refused(ledger, InvalidInputError, match="only a reversal"):
        ledger.transfer_credit(
            "org-a",
            bank_id=BANK,
            from_account=vol(town.other),
            to_account=vol(town.number),
            amount=40,
            reverses=transfer_id,
            idempotency_key="not-a-reversal",
        )
    assert balance(town, vol(town.other)) == 40


def test_a_reversal_retried_with_its_key_is_stored_once(town: Town) -> None:
    ledger = town.ledger
    open_bank(town)
    town.approved(100)
    transfer_id = send(town, "org-a", vol(town.number), vol(town.other), 40)
    first = ledger.reverse_transfer(
        "city", bank_id=BANK, transfer_id=transfer_id, idempotency_key="undo"
    )
    size = ledger.log_size()
    again = ledger.reverse_transfer(
        "city", bank_id=BANK, transfer_id=transfer_id, idempotency_key="undo"
    )
    assert again.replayed and again.value == first.value
    assert ledger.log_size() == size
