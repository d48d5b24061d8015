"""Any single-byte change to a stored event is detected on read, with an error naming the event."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from core_property_support import open_city
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger import Ledger, MemoryKeystore, TamperedEventError


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ledger, Path]]:
    """A SQLite ledger with key events and volunteer events of several kinds in it."""
    path = tmp_path_factory.mktemp("tamper") / "ledger.db"
    ledger = open_city(f"sqlite:///{path}")
    number = ledger.register_volunteer("org-a", idempotency_key="v1").value.number
    ledger.give_consent("org-a", number=number, purpose="certificate-name", idempotency_key="c")
    transfer = ledger.request_transfer("org-a", number=number, to_org="org-b", idempotency_key="t")
    ledger.accept_transfer(
        "org-b", number=number, transfer_id=transfer.value.transfer_id, idempotency_key="a"
    )
    yield ledger, path
    ledger.close()


@settings(max_examples=30, deadline=None)
@given(
    leaf_choice=st.integers(min_value=0, max_value=10**6),
    offset_choice=st.integers(min_value=0, max_value=10**6),
    xor=st.integers(min_value=1, max_value=255),
)
def test_any_single_byte_change_to_a_stored_event_is_detected_on_read(
    stored: tuple[Ledger, Path], leaf_choice: int, offset_choice: int, xor: int
) -> None:
    ledger, path = stored
    leaf = leaf_choice % ledger.log_size()
    event = ledger.event_at(leaf)
    original = event.envelope
    offset = offset_choice % len(original)
    altered = bytearray(original)
    altered[offset] ^= xor
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE stored_events SET state=? WHERE rowid=?",
            (bytes(altered), event.notification_id),
        )
    try:
        with pytest.raises(TamperedEventError) as caught:
            ledger.event_at(leaf)
        assert str(event.originator_id) in str(caught.value)
        assert f"v{event.originator_version}" in str(caught.value)
        with pytest.raises(TamperedEventError, match=str(event.originator_id)):
            ledger.events(event.originator_id)
        # A fresh reader, with no private keys and nothing cached, detects it too.
        with (
            Ledger(f"sqlite:///{path}", keystore=MemoryKeystore()) as reader,
            pytest.raises(TamperedEventError, match=str(event.originator_id)),
        ):
            reader.event_at(leaf)
    finally:
        with sqlite3.connect(path) as conn:
            conn.execute(
                "UPDATE stored_events SET state=? WHERE rowid=?", (original, event.notification_id)
            )
    assert ledger.event_at(leaf).envelope == original
