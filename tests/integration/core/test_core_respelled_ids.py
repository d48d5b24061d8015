"""On SQLite an event row whose aggregate id is spelled another way is found by the audit.

The SQLite recorder stores an aggregate id as 32 lowercase hex digits and reads an aggregate's
events by exactly that text. An operator who rewrites one row's ``originator_id`` to
``upper(originator_id)`` hides the event from every read of its aggregate while its leaf, bytes
and signature stay as they were; ``UUID(...)`` reads the upper-case text as the same id, so the
mapper's and the audit's identity checks once passed the row and the audit reported the store
clean. The recorder now converts only its own spelling.
"""

from __future__ import annotations

from collections.abc import Callable

from ledger_testing import create_city, tamper_sql

from ledger import Ledger
from ledger.audit import StoreSource, audit
from ledger.model.aggregates import Volunteer
from ledger.model.ids import volunteer_aggregate_id

PURPOSE = "certificate-name"


def test_an_event_whose_stored_aggregate_id_is_upper_cased_is_found_by_the_audit(
    store_url_for: Callable[[str], str], open_ledger: Callable[..., Ledger]
) -> None:
    """The volunteer gave consent and then withdrew it. The operator upper-cases the stored
    aggregate id of the withdrawal: commands, here and in a new process, decide that consent is
    given (a row older than the last one a process saw is the audit's to check), and the audit
    finds the row's stored id differing from its signed body's."""
    url = store_url_for("sqlite")
    ledger = open_ledger(url)
    number = create_city(ledger)["number"]
    aggregate_id = volunteer_aggregate_id(number)
    ledger.give_consent("org-a", number=number, purpose=PURPOSE, idempotency_key="c-1")
    withdrawn = ledger.withdraw_consent(
        "org-a", number=number, purpose=PURPOSE, idempotency_key="c-2"
    ).events[0]
    tamper_sql(
        ledger,
        "UPDATE stored_events SET originator_id=upper(originator_id) WHERE rowid=%s",
        (withdrawn.notification_id,),
    )
    # Its leaf, bytes and signature are untouched, but no read of its aggregate sees it.
    for reader in (ledger, open_ledger(url, keystore=ledger.keystore)):
        ctx = reader._writer.context("org-a", "2025-03-03T09:00:00Z")
        state = ctx.state(Volunteer, aggregate_id)
        ctx.discard()
        assert state.consents == {PURPOSE: True}
    assert len(ledger.events(aggregate_id)) == withdrawn.version - 1
    report = audit(StoreSource(ledger), workers=1, progress=False)
    assert [(f.kind, f.leaf_index) for f in report.findings] == [
        ("identity-mismatch", withdrawn.leaf_index)
    ]
