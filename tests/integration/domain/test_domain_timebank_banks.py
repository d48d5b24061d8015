"""A record keeps its credit in the bank that minted it, also once a bank nearer its recording
organisation opens: a correction or void is reconciled there, and a record that earned nothing
yet earns in the nearest bank. Before, the credit was reconciled in the nearest bank of now:
voiding an old record took nothing back (the credit stayed in the city's bank for service never
given), and correcting it down by 10 minted 90 again in the new bank, 190 credit for 90 minutes.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from domain_support import Town, create_city

from ledger import Ledger

CITY_BANK, ORG_BANK = "bank", "a-bank"


@pytest.fixture(params=["memory", "sqlite"])
def town(
    request: pytest.FixtureRequest,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
) -> Town:
    ledger = open_ledger(store_url_for(request.param))
    town = Town.build(ledger, create_city(ledger))
    ledger.open_time_bank("city", bank_id=CITY_BANK, idempotency_key="city-bank")
    return town


def held(town: Town, bank_id: str) -> int:
    return int(town.ledger.account(f"{bank_id}:vol:{town.number}")["balance"])


def open_org_bank(town: Town) -> None:
    town.ledger.new_key("city", for_org="org-a", idempotency_key="auto", purpose="automatic-awards")
    town.ledger.open_time_bank("org-a", bank_id=ORG_BANK, idempotency_key="org-bank")


def test_a_void_after_a_nearer_bank_opens_takes_the_credit_back_where_it_is(town: Town) -> None:
    record = town.approved(100)
    open_org_bank(town)
    town.void(record)
    assert (held(town, CITY_BANK), held(town, ORG_BANK)) == (0, 0)


def test_a_correction_after_a_nearer_bank_opens_is_settled_where_the_credit_is(
    town: Town,
) -> None:
    record = town.approved(100)
    open_org_bank(town)
    town.correct(record, -10)
    assert (held(town, CITY_BANK), held(town, ORG_BANK)) == (90, 0)


def test_a_record_approved_after_a_nearer_bank_opens_earns_in_it(town: Town) -> None:
    town.approved(100)
    open_org_bank(town)
    record = town.approved(30)
    assert (held(town, CITY_BANK), held(town, ORG_BANK)) == (100, 30)
    town.correct(record, 10)
    assert (held(town, CITY_BANK), held(town, ORG_BANK)) == (100, 40)
