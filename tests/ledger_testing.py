"""Helpers the test suites share (imported by name: ``tests/`` is on the path via conftest)."""

from __future__ import annotations

from ledger import Ledger


def create_city(ledger: Ledger) -> dict[str, str]:
    """A root federation, organisations org-a and org-b each with its own key, and one
    registered volunteer of org-a."""
    ledger.create(
        name="Test city ledger",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin="ledger.test.example/log",
    )
    ledger.register_organisation(
        "city",
        org_id="org-a",
        name="Organisation A",
        kind="organisation",
        region="140402",
        idempotency_key="org-a",
    )
    ledger.new_key("city", for_org="org-a", idempotency_key="org-a-key")
    ledger.register_organisation(
        "city",
        org_id="org-b",
        name="Organisation B",
        kind="organisation",
        region="140403",
        idempotency_key="org-b",
    )
    ledger.new_key("city", for_org="org-b", idempotency_key="org-b-key")
    result = ledger.register_volunteer("org-a", idempotency_key="vol-1")
    return {"number": str(result.value.number)}
