"""On PostgreSQL an event stored by hand above the ids the sequence hands out stops every write.

The trust directory's position, and so a command's fence, is the newest notification id. The
sequence behind the events table does not move past an id given explicitly, so one row written
at id 10**12 once moved every process's position there for good: every key event stored after
it took a smaller id, the fence never fired again, and a key another process had revoked was
still used, for an event every reader then refused. The insert now refuses to write while such
a row exists (``StoreIntegrityError``, nothing stored), and writes again once it is gone.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import pytest
from ledger_testing import create_city, tamper_sql

from ledger import Ledger
from ledger.errors import StoreIntegrityError
from ledger.model.ids import volunteer_aggregate_id

PURPOSE = "certificate-name"
FAR_OFF = 10**12


@pytest.mark.postgres
def test_no_write_passes_a_row_above_the_sequence_and_a_key_revoked_meanwhile_is_fenced(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    url = store_url_for("postgresql")
    ledger = open_ledger(url)
    number = create_city(ledger)["number"]
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key-2")
    other = open_ledger(url, keystore=ledger.keystore)
    table = ledger._recorder.events_table_name
    tamper_sql(
        ledger,
        f"INSERT INTO {{schema}}.{table} (notification_id, originator_id, originator_version, "
        "topic, state) VALUES (%s, %s, 1, %s, %s)",
        (FAR_OFF, uuid4(), "ledger.event.v1:Nothing", b"{}"),
    )
    ledger.refresh()  # as any refresh after that row was written does
    first = ledger.signer_for("org-a")
    size = ledger.log_size()
    for write in (
        lambda: other.revoke_key(
            "city", for_org="org-a", key_id=first.key_id, reason="lost", idempotency_key="lost"
        ),
        lambda: ledger.give_consent(
            "org-a", number=number, purpose=PURPOSE, idempotency_key="while-it-is-there"
        ),
    ):
        with pytest.raises(StoreIntegrityError, match="above those the store hands out"):
            write()
    assert ledger.log_size() == size

    tamper_sql(ledger, f"DELETE FROM {{schema}}.{table} WHERE notification_id = %s", (FAR_OFF,))
    other.revoke_key(
        "city", for_org="org-a", key_id=first.key_id, reason="lost", idempotency_key="lost"
    )
    stored = ledger.give_consent(
        "org-a", number=number, purpose=PURPOSE, idempotency_key="after-revocation"
    ).events[0]
    assert ledger.event(stored.aggregate_id, stored.version).key_id != first.key_id
    fresh = open_ledger(url, keystore=ledger.keystore)
    assert fresh.events(volunteer_aggregate_id(number))[-1].originator_version == stored.version
