"""Exclusive side rows: a key taken by one command is not taken again by another racing it.

A transfer id is one transfer's in its bank, and a peer's transfer is accepted from one leaf of
its log. Each command looks the id up before it stores, but two writers can both look before
either stores. The store therefore checks exclusive rows again under its write lock and refuses
the second command whole: no event, leaf, claim or row of it is stored. The command then decides
again and is refused for the reason its own look now sees.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from domain_support import Town, create_city
from eventsourcing.persistence import IntegrityError, StoredEvent
from ledger_testing import race_after_lookups

from ledger import Ledger, RuleViolationError
from ledger.commands import timebank as timebank_commands
from ledger.commands.timebank import TRANSFER_RECEIVERS
from ledger.envelope import sign_body
from ledger.signing import b64encode
from ledger.storage.records import SIDE_ROW_TAKEN, IdempotencyClaim, SideRow

STORES = ["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
BANK = "bank"


def _event(payload: bytes) -> StoredEvent:
    return StoredEvent(uuid.uuid4(), 1, "test.side-rows", b'{"test":"' + payload + b'"}')


def _store(ledger: Ledger, rows: list[SideRow], payload: bytes) -> None:
    claim = IdempotencyClaim("test", payload.decode(), "hash", b"{}")
    ledger._recorder.insert_events([_event(payload)], side_rows=rows, claim=claim)


@pytest.mark.parametrize("kind", STORES)
def test_the_store_refuses_an_exclusive_row_whose_key_holds_another_value(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    ledger = open_ledger(store_url_for(kind))
    recorder = ledger._recorder
    _store(ledger, [SideRow("ids", "t-1", b"account-a", exclusive=True)], b"first")
    size = recorder.log_size()

    with pytest.raises(IntegrityError, match=r"side row|null value"):
        _store(
            ledger,
            [SideRow("other", "x", b"1"), SideRow("ids", "t-1", b"account-b", exclusive=True)],
            b"second",
        )
    # Nothing of the refused command: no event, no leaf, no claim, no row, not even the
    # non-exclusive one stored beside it.
    assert recorder.log_size() == size
    assert recorder.find_claim("test", "second") is None
    assert recorder.side_get("ids", "t-1") == b"account-a"
    assert recorder.side_get("other", "x") is None

    # The same value again is no conflict, and a row that is not exclusive replaces.
    _store(ledger, [SideRow("ids", "t-1", b"account-a", exclusive=True)], b"third")
    _store(ledger, [SideRow("ids", "t-1", b"account-c")], b"fourth")
    assert recorder.side_get("ids", "t-1") == b"account-c"
    assert recorder.log_size() == size + 2


def test_the_refusal_names_itself(open_ledger: Callable[..., Ledger]) -> None:
    ledger = open_ledger("memory://")
    _store(ledger, [SideRow("ids", "t-1", b"a", exclusive=True)], b"first")
    with pytest.raises(IntegrityError, match=re.escape(SIDE_ROW_TAKEN)):
        _store(ledger, [SideRow("ids", "t-1", b"b", exclusive=True)], b"second")


def _signed(town: Town, org: str, bodies: list[dict[str, Any]]) -> list[tuple[str, str]]:
    signer = town.ledger.signer_for(org)
    signed = []
    for body in bodies:
        text, signature = sign_body(body, signer)
        signed.append((text.decode("utf-8"), b64encode(signature)))
    return signed


def _drafted(town: Town, org: str, key: str, **params: Any) -> list[dict[str, Any]]:
    signer = town.ledger.signer_for(org)
    draft = town.ledger.draft(
        "transfer_credit", org, key_id=signer.key_id, params={"idempotency_key": key, **params}
    )
    return [dict(body) for body in draft.bodies]


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def test_two_organisations_racing_for_one_transfer_id_do_not_both_take_it(
    kind: str,
    store_url_for: Callable[[str], str],
    open_ledger: Callable[..., Ledger],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ledger = open_ledger(store_url_for(kind))
    town = Town.build(ledger, create_city(ledger))
    ledger.open_time_bank("city", bank_id=BANK, idempotency_key="bank")
    town.approved(100)
    town.approved(100, number=town.stranger, org="org-b")
    shared = str(uuid.uuid4())
    submissions = []
    for org, source, target in (
        ("org-a", town.number, f"{BANK}:org:org-a"),
        ("org-b", town.stranger, f"{BANK}:org:org-b"),
    ):
        bodies = _drafted(
            town, org, f"donate-{org}", bank_id=BANK, kind="donation",
            from_account=f"{BANK}:vol:{source}", to_account=target, amount=5,
        )  # fmt: skip
        for body in bodies:
            body["data"] = {**body["data"], "transfer_id": shared}
        submissions.append(_signed(town, org, bodies))

    # Both look the id up before either stores: the window a real race has.
    outcomes = race_after_lookups(
        ledger._recorder,
        TRANSFER_RECEIVERS,
        [lambda signed=signed: ledger.submit_signed(signed) for signed in submissions],
        monkeypatch,
    )
    refused = [o for o in outcomes if isinstance(o, Exception)]
    assert len(outcomes) == 2 and len(refused) == 1, outcomes
    assert isinstance(refused[0], RuleViolationError), refused
    assert "another transfer's" in refused[0].message
    receiver = ledger._recorder.side_get(TRANSFER_RECEIVERS, f"{BANK}/{shared}")
    assert receiver in (f"{BANK}:org:org-a".encode(), f"{BANK}:org:org-b".encode())
    donated = [int(ledger.account(f"{BANK}:org:{org}")["balance"]) for org in ("org-a", "org-b")]
    assert sorted(donated) == [0, 5]


def test_the_receiver_rows_are_exclusive() -> None:
    body = {
        "type": "CreditReceived",
        "data": {"bank_id": BANK, "transfer_id": "t", "account": f"{BANK}:org:org-a"},
    }

    class NothingStored:
        def side_get(self, namespace: str, key: str) -> None:
            return None

    (row,) = timebank_commands.receiver_rows([body], NothingStored())  # type: ignore[arg-type]
    assert row.exclusive
