"""Transfers signed outside the ledger meet the rules ``transfer_credit`` meets. Before, through
``submit_signed`` (``POST /events``) with an ordinary signing key:

- the two sides of a transfer could name different banks, moving credit out of one bank into
  another (neither then summed to zero);
- a sending side could reuse a transfer id its account had already received, overwriting that
  receipt in the account's history, so the bank could no longer reverse the mistaken transfer;
- a receiving side alone could say it reverses a transfer, marking a mistaken transfer reversed
  although nothing was, so the bank's reversal was refused.

- another organisation could reuse a transfer's id for a transfer of its own, and the bank's
  reversal given that id then undid the other organisation's transfer instead;
- the bank's organisation, holding an automatic-awards key of its own, could mint or take back
  credit that no change of a record called for.

Each is now refused, and nothing of it is stored."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from domain_support import Town, create_city

from ledger import Ledger, RuleViolationError
from ledger.envelope import format_time, sign_body
from ledger.model.timebank import account_aggregate_id
from ledger.signing import SigningKey, b64encode

BANK = "bank"


@pytest.fixture
def town(open_ledger: Callable[..., Ledger]) -> Town:
    ledger = open_ledger("memory://")
    town = Town.build(ledger, create_city(ledger))
    ledger.open_time_bank("city", bank_id=BANK, idempotency_key="bank")
    return town


def vol(number: str, bank_id: str = BANK) -> str:
    return f"{bank_id}:vol:{number}"


def balance(town: Town, account_id: str) -> int:
    return int(town.ledger.account(account_id)["balance"])


def drafted(town: Town, org: str, key: str, **params: Any) -> list[dict[str, Any]]:
    """The two bodies ``transfer_credit`` would have ``org`` sign (copies, to be altered)."""
    signer = town.ledger.signer_for(org)
    draft = town.ledger.draft(
        "transfer_credit", org, key_id=signer.key_id, params={"idempotency_key": key, **params}
    )
    return [copy.deepcopy(body) for body in draft.bodies]


def submit_refused(town: Town, org: str, bodies: list[dict[str, Any]], match: str) -> None:
    signer = town.ledger.signer_for(org)
    signed = []
    for body in bodies:
        text, signature = sign_body(body, signer)
        signed.append((text.decode("utf-8"), b64encode(signature)))
    size = town.ledger.log_size()
    with pytest.raises(RuleViolationError, match=match):
        town.ledger.submit_signed(signed)
    assert town.ledger.log_size() == size


def mistake(town: Town, org: str = "org-b", source: str = "", target: str = "") -> str:
    """``org`` sends 40 of its volunteer's credit to another volunteer by mistake (by default
    org-b's volunteer, holding 100, to org-a's, holding 10)."""
    if not source:
        town.approved(100, number=town.stranger, org="org-b")
        town.approved(10)
    result = town.ledger.transfer_credit(
        org,
        bank_id=BANK,
        from_account=source or vol(town.stranger),
        to_account=target or vol(town.number),
        amount=40,
        idempotency_key="mistake",
    )
    return str(result.value.transfer_id)


def bank_reverses(town: Town, transfer_id: str) -> None:
    town.ledger.reverse_transfer(
        "city", bank_id=BANK, transfer_id=transfer_id, idempotency_key="undo"
    )
    assert balance(town, vol(town.stranger)) == 100


def test_a_transfer_s_two_sides_are_of_one_bank(town: Town) -> None:
    town.ledger.new_key("city", for_org="org-a", idempotency_key="auto", purpose="automatic-awards")
    town.ledger.open_time_bank("org-a", bank_id="a-bank", idempotency_key="a-bank")
    town.approved(100, org="org-a")  # earned in org-a's own bank
    sent, received = drafted(
        town,
        "org-a",
        "cross",
        bank_id="a-bank",
        from_account=vol(town.number, "a-bank"),
        to_account=vol(town.other, "a-bank"),
        amount=100,
    )
    sent["data"]["counterparty"] = vol(town.other)  # lands in the city's bank
    received["aggregate_id"] = str(account_aggregate_id(vol(town.other)))
    received["data"].update(account=vol(town.other), bank_id=BANK)
    submit_refused(town, "org-a", [sent, received], "do not match")
    assert balance(town, vol(town.number, "a-bank")) == 100


def test_a_sending_side_does_not_reuse_a_transfer_id_its_account_holds(town: Town) -> None:
    wrong = mistake(town)
    bodies = drafted(
        town, "org-a", "pay", bank_id=BANK, from_account=vol(town.number),
        to_account=vol(town.other), amount=1,
    )  # fmt: skip
    for body in bodies:
        body["data"]["transfer_id"] = wrong
    submit_refused(town, "org-a", bodies, "already moved")
    assert town.ledger.account(vol(town.number))["movements"][wrong]["amount"] == 40
    bank_reverses(town, wrong)


def test_only_both_sides_of_a_reversal_say_what_it_reverses(town: Town) -> None:
    wrong = mistake(town)
    town.approved(5, number=town.other)
    sent, received = drafted(
        town, "org-a", "gift", bank_id=BANK, from_account=vol(town.other),
        to_account=vol(town.number), amount=1,
    )  # fmt: skip
    received["data"]["reverses"] = wrong
    submit_refused(town, "org-a", [sent, received], "do not match")
    assert not town.ledger.account(vol(town.number))["movements"][wrong]["reversed"]
    bank_reverses(town, wrong)


def test_another_organisation_does_not_reuse_a_transfer_s_id(town: Town) -> None:
    """org-a moves 40 of its volunteer's credit to another by mistake; org-b, party to
    nothing, gives its own transfer that id."""
    town.approved(100)
    town.approved(10, number=town.stranger, org="org-b")
    wrong = mistake(town, "org-a", vol(town.number), vol(town.other))
    bodies = drafted(
        town, "org-b", "donate", bank_id=BANK, kind="donation", from_account=vol(town.stranger),
        to_account=f"{BANK}:org:org-b", amount=5,
    )  # fmt: skip
    for body in bodies:
        body["data"]["transfer_id"] = wrong
    submit_refused(town, "org-b", bodies, "another transfer's")
    town.ledger.reverse_transfer("city", bank_id=BANK, transfer_id=wrong, idempotency_key="undo")
    assert (balance(town, vol(town.number)), balance(town, vol(town.other))) == (100, 0)


@pytest.mark.parametrize(
    ("event_type", "amount", "record"),
    [("CreditClawedBack", 60, "approved"), ("CreditEarned", 500, "none")],
    ids=["take back from an unchanged record", "mint for no record"],
)
def test_credit_moves_only_with_a_change_of_its_record(
    town: Town, event_type: str, amount: int, record: str
) -> None:
    own = SigningKey.generate()  # the city's own automatic-awards key, its private half kept
    town.ledger.register_key(
        "city",
        for_org="city",
        public_key=own.public_key,
        purpose="automatic-awards",
        idempotency_key="own-auto",
    )
    approved = town.approved(100, number=town.stranger, org="org-b")
    account = vol(town.stranger)
    body = {
        "type": event_type,
        "org": "city",
        "key_id": own.key_id,
        "aggregate_id": str(account_aggregate_id(account)),
        "aggregate_version": len(town.ledger.events(account_aggregate_id(account))) + 1,
        "occurred_at": format_time(town.ledger.clock()),
        "idempotency_key": "forged-credit",
        "data": {
            "bank_id": BANK,
            "account": account,
            "transfer_id": "0b1c1f56-6a55-4c31-a6de-6c2b5e0c6d01",
            "amount": amount,
            "record_id": approved if record == "approved" else f"{town.stranger}-R999",
            "number": town.stranger,
        },
    }
    text, signature = sign_body(body, own)
    size = town.ledger.log_size()
    with pytest.raises(RuleViolationError, match="only with a change of that record"):
        town.ledger.submit_signed([(text.decode("utf-8"), b64encode(signature))])
    assert town.ledger.log_size() == size
    assert balance(town, account) == 100
