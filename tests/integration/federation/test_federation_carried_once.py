"""A peer's transfer-out carries its minutes in once. The rule for ``ServiceCarriedIn`` said "with
the acceptance, in the same command" but only looked for an acceptance of the same number, so a
second event naming the same transfer-out, signed with the receiving organisation's key and
submitted, doubled the volunteer's minutes; ``check_transfers_in`` kept one event per
transfer-out and the audit found nothing. The service account now remembers the transfer-outs
it carried in, and ``check_transfers_in`` reports one carried in twice (as an older version's
rules let through)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from federation_support import City, transferred_out

from ledger import RuleViolationError, SigningKey
from ledger.canonical import canonical_json
from ledger.envelope import SIGNING_CONTEXT, format_time
from ledger.model import federation
from ledger.model.service import service_account_id
from ledger.signing import b64encode


@pytest.fixture
def carried() -> Iterator[tuple[City, str, dict[str, Any]]]:
    """beta, the volunteer who received alpha's 120 minutes, and that ServiceCarriedIn's data."""
    with transferred_out(120) as (_, beta, package):
        newcomer = beta.volunteer()
        result = beta.ledger.transfer_in(
            "org-a", number=newcomer, package=package, idempotency_key="in-1"
        )
        event = next(e for e in result.events if e.type == "ServiceCarriedIn")
        yield beta, newcomer, beta.ledger.event_at(event.leaf_index).data


def carry_again(beta: City, number: str, data: dict[str, Any]) -> None:
    """The same transfer-out's minutes, signed again by org-a and submitted."""
    signer = beta.ledger.signer_for("org-a")
    assert isinstance(signer, SigningKey)
    account = service_account_id(number)
    body = {
        "type": "ServiceCarriedIn",
        "org": "org-a",
        "key_id": signer.key_id,
        "aggregate_id": str(account),
        "aggregate_version": len(beta.ledger.events(account)) + 1,
        "occurred_at": format_time(beta.ledger.clock()),
        "idempotency_key": "carried-again",
        "data": {**data, "record_id": f"{number}-R2"},
    }
    signature = b64encode(signer.sign(SIGNING_CONTEXT + canonical_json(body)))
    beta.ledger.submit_signed([(canonical_json(body), signature)])


def test_a_transfer_out_s_minutes_are_not_carried_in_twice(
    carried: tuple[City, str, dict[str, Any]],
) -> None:
    beta, number, data = carried
    size = beta.ledger.log_size()
    with pytest.raises(RuleViolationError, match="carried in already"):
        carry_again(beta, number, data)
    assert beta.ledger.log_size() == size
    assert beta.ledger.volunteer_balance(number)["approved_minutes"] == 120
    assert [c["problem"] for c in beta.ledger.check_transfers_in()] == [None]


def test_a_transfer_out_carried_in_twice_by_older_rules_is_reported(
    carried: tuple[City, str, dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    beta, number, data = carried
    monkeypatch.setattr(federation, "carried_key", lambda origin, leaf: "never carried")
    carry_again(beta, number, data)
    monkeypatch.undo()
    assert beta.ledger.volunteer_balance(number)["approved_minutes"] == 240
    [checked] = beta.ledger.check_transfers_in()
    assert checked["problem"] == "its minutes were carried in more than once"
