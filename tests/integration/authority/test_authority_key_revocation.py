"""The first write after an organisation revokes its newest key succeeds with a remaining key,
whether the revocation was stored by this process or by another one on the same store."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from ledger_testing import create_city

from ledger import KeyNotAuthorisedError, Ledger, MemoryKeystore

Opener = Callable[..., Ledger]


def _second_key(ledger: Ledger) -> str:
    return ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2").value.key_id


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_first_write_after_revoking_the_newest_key_uses_the_remaining_key(
    kind: str, store_url_for: Callable[[str], str], open_ledger: Opener
) -> None:
    ledger = open_ledger(store_url_for(kind))
    create_city(ledger)
    newest = _second_key(ledger)
    ledger.register_volunteer("org-a", idempotency_key="before")
    ledger.revoke_key(
        "org-a", for_org="org-a", key_id=newest, reason="laptop lost", idempotency_key="revoke"
    )
    result = ledger.register_volunteer("org-a", idempotency_key="after")
    event = ledger.event(result.events[0].aggregate_id, 1)
    assert event.key_id != newest
    assert ledger._directory.keys[event.key_id].org_id == "org-a"


def test_a_revocation_by_another_process_does_not_fail_the_next_write(
    store_url_for: Callable[[str], str], open_ledger: Opener
) -> None:
    url = store_url_for("sqlite")
    keystore = MemoryKeystore()
    writer = open_ledger(url, keystore=keystore)
    create_city(writer)
    newest = _second_key(writer)
    writer.register_volunteer("org-a", idempotency_key="warm")  # directory and keys loaded
    other = open_ledger(url, keystore=keystore)
    other.revoke_key(
        "city", for_org="org-a", key_id=newest, reason="compromised", idempotency_key="revoke"
    )
    result = writer.register_volunteer("org-a", idempotency_key="after")
    assert writer.event(result.events[0].aggregate_id, 1).key_id != newest


def test_an_organisation_whose_every_key_is_revoked_writes_nothing(
    store_url_for: Callable[[str], str], open_ledger: Opener
) -> None:
    ledger = open_ledger(store_url_for("sqlite"))
    create_city(ledger)
    for key_id in list(ledger._directory.active_keys("org-a")):
        ledger.revoke_key(
            "city", for_org="org-a", key_id=key_id.key_id, reason="gone", idempotency_key="r"
        )
    size = ledger.log_size()
    with pytest.raises(KeyNotAuthorisedError):
        ledger.register_volunteer("org-a", idempotency_key="after")
    assert ledger.log_size() == size
