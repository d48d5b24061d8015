"""An idempotency claim is a row nobody signed: a retry is answered from it only when every
event it names is stored, verifies, is of the type it says and carries the claim's key, and one
of them is the acting organisation's. Before, a claim the operator wrote ahead of a command
(naming no event, or another command's events) had the command answered with success, replayed,
while nothing of it was stored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ledger_testing import create_city, tamper_sql

from ledger import Ledger
from ledger.canonical import canonical_json
from ledger.errors import StoreIntegrityError
from ledger.model.ids import volunteer_aggregate_id
from ledger.writer import request_hash

SQL_STORES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
PURPOSE = "certificate-name"


def forge_claim(
    ledger: Ledger, number: str, key: str, events: list[Any], *, sealed: bool = False
) -> None:
    """A claim for org-a's consent command with ``key``, as the writer would compute its
    request hash, naming ``events``: written by hand with no MAC, or ``sealed`` as by the
    ledger's own process (which holds the log key the MAC is derived from)."""
    params = {
        "aggregate_id": str(volunteer_aggregate_id(number)),
        "data": {"number": number, "purpose": PURPOSE},
    }
    request = request_hash({"command": "ConsentGiven", "org": "org-a", "params": params})
    result = (
        ledger._writer.claims.make("org-a", key, request, events, {}).result
        if sealed
        else canonical_json({"events": events, "value": {}})
    )
    tamper_sql(
        ledger,
        "DELETE FROM {schema}.ledger_idempotency WHERE scope = %s AND key = %s",
        ("org-a", key),
    )
    tamper_sql(
        ledger,
        "INSERT INTO {schema}.ledger_idempotency VALUES (%s, %s, %s, %s)",
        ("org-a", key, request, result),
    )


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_claim_naming_no_event_or_another_command_s_is_refused_and_nothing_is_stored(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    number = create_city(ledger)["number"]
    other = ledger.register_volunteer("org-b", idempotency_key="b-1").events[0]
    own = ledger.register_volunteer("org-a", idempotency_key="a-1").events[0]
    forged = {
        "names-none": [],
        "names-org-b-s-command": [[other.aggregate_id, other.version, other.type]],
        "names-another-command": [[own.aggregate_id, own.version, own.type]],
        "names-an-event-not-stored": [[own.aggregate_id, own.version + 5, own.type]],
    }
    size = ledger.log_size()
    for key, events in forged.items():
        # Written with database access alone: no MAC, refused before anything else.
        forge_claim(ledger, number, key, events)
        with pytest.raises(StoreIntegrityError, match="carries no MAC"):
            ledger.give_consent("org-a", number=number, purpose=PURPOSE, idempotency_key=key)
        # With the MAC right, the events it names are still checked.
        forge_claim(ledger, number, key, events, sealed=True)
        with pytest.raises(StoreIntegrityError, match="claim of idempotency key"):
            ledger.give_consent("org-a", number=number, purpose=PURPOSE, idempotency_key=key)
    assert ledger.log_size() == size

    given = ledger.give_consent("org-a", number=number, purpose=PURPOSE, idempotency_key="real")
    again = ledger.give_consent("org-a", number=number, purpose=PURPOSE, idempotency_key="real")
    assert again.replayed and again.events == given.events


@pytest.mark.parametrize("kind", SQL_STORES)
def test_a_command_that_stores_no_event_stores_no_claim(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """Collecting empty surplus holdings stores nothing, on SQLite as on PostgreSQL: no event,
    so no claim (a claim always names its events), and the same key may collect later."""
    ledger = open_ledger(store_url_for(kind))
    number = create_city(ledger)["number"]
    ledger.new_key("city", for_org="city", idempotency_key="auto", purpose="automatic-awards")
    ledger.open_time_bank(
        "city", bank_id="bank", surplus_account="bank:org:city", idempotency_key="bank"
    )
    size = ledger.log_size()
    for _ in range(2):
        result = ledger.collect_surplus(
            "city", bank_id="bank", numbers=[number], idempotency_key="collect"
        )
        assert result.events == () and dict(result.value.collected) == {}
        assert ledger._recorder.find_claim("city", "collect") is None
    assert ledger.log_size() == size
