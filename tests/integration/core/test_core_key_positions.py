"""[trust-roots] Key validity stated in leaf indexes: the positions a verifier can check.

Every key's ``registered_at_leaf`` is the leaf whose event registered it (the genesis for the
root key) and its ``revoked_at_leaf`` the leaf whose event revoked it, so a verifier holding only
the log (leaves, proofs, checkpoints) can check that a key was valid for an event:
``registered_at_leaf <= leaf < revoked_at_leaf``. No notification id is published as a position.
"""

from __future__ import annotations

from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ledger_testing import create_city

from ledger import Ledger
from ledger.log import leaf_hash, verify_inclusion
from ledger.log.checkpoint import Checkpoint
from ledger.log.note import parse_note


def rotate(ledger: Ledger, times: int, prefix: str) -> None:
    """org-a gets a new key and the older one is revoked, ``times`` times, with events between."""
    for turn in range(times):
        old = ledger._directory.active_keys("org-a")[0].key_id
        ledger.new_key("city", for_org="org-a", idempotency_key=f"{prefix}-key-{turn}")
        ledger.register_volunteer("org-a", idempotency_key=f"{prefix}-between-{turn}")
        ledger.revoke_key(
            "city",
            for_org="org-a",
            key_id=old,
            reason="rotated",
            idempotency_key=f"{prefix}-r{turn}",
        )
        ledger.register_volunteer("org-a", idempotency_key=f"{prefix}-after-{turn}")


def check_positions(ledger: Ledger) -> None:
    ledger.refresh()
    note = ledger.log.sign_checkpoint()
    checkpoint = Checkpoint.parse(parse_note(note)[0])
    for info in ledger._directory.keys.values():
        window = info.validity()
        registered = window["registered_at_leaf"]
        assert registered is not None
        event = ledger.event_at(registered)
        if event.type == "LedgerCreated":
            assert event.data["root_key"] == info.key.to_base64()
        else:
            assert event.type == "KeyRegistered"
            assert event.data["public_key"] == info.key.to_base64()
        proof = ledger.log.inclusion_proof(registered, checkpoint.size)
        verify_inclusion(
            leaf_hash(ledger.log.entry(registered)),
            registered,
            checkpoint.size,
            proof,
            checkpoint.root_hash,
        )
        revoked = window["revoked_at_leaf"]
        if revoked is not None:
            revocation = ledger.event_at(revoked)
            assert revocation.type == "KeyRevoked" and revocation.data["key_id"] == info.key_id
            assert registered < revoked
    for leaf in range(checkpoint.size):
        event = ledger.event_at(leaf)
        window = ledger._directory.keys[event.key_id].validity()
        assert window["registered_at_leaf"] is not None
        assert window["registered_at_leaf"] <= leaf
        assert window["revoked_at_leaf"] is None or leaf < window["revoked_at_leaf"]


def test_every_key_position_is_the_leaf_of_its_registration_and_revocation(
    open_ledger: Callable[..., Ledger], store_url_for: Callable[[str], str]
) -> None:
    ledger = open_ledger(store_url_for("sqlite"))
    create_city(ledger)
    rotate(ledger, 3, "rotation")
    check_positions(ledger)


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(times=st.integers(min_value=0, max_value=3), fillers=st.integers(min_value=0, max_value=4))
def test_every_signed_leaf_falls_inside_its_keys_published_window(
    open_ledger: Callable[..., Ledger], times: int, fillers: int
) -> None:
    ledger = open_ledger("memory://")
    create_city(ledger)
    for i in range(fillers):
        ledger.register_volunteer("org-b", idempotency_key=f"filler-{i}")
    rotate(ledger, times, "property")
    check_positions(ledger)


def test_a_fresh_process_reads_the_same_positions(
    open_ledger: Callable[..., Ledger], store_url_for: Callable[[str], str]
) -> None:
    url = store_url_for("sqlite")
    first = open_ledger(url)
    create_city(first)
    rotate(first, 1, "reopen")
    first._directory.refresh()
    windows = {k: v.validity() for k, v in first._directory.keys.items()}
    second = open_ledger(url)
    second._directory.refresh()
    assert {k: v.validity() for k, v in second._directory.keys.items()} == windows
