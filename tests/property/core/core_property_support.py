"""Helpers for the [core] property tests (imported by name; not a test module)."""

from __future__ import annotations

from ledger import Ledger, MemoryKeystore

ORGS = ("city", "org-a", "org-b")


def create_city(ledger: Ledger) -> None:
    """A root federation "city" and two organisations, each with a key in the keystore."""
    ledger.create(
        name="Property test ledger",
        root_org_id="city",
        root_name="City Volunteer Federation",
        region="140400",
        origin="ledger.test.example/log",
    )
    for org, region in (("org-a", "140402"), ("org-b", "140403")):
        ledger.register_organisation(
            "city",
            org_id=org,
            name=f"Organisation {org}",
            kind="organisation",
            region=region,
            idempotency_key=org,
        )
        ledger.new_key("city", for_org=org, idempotency_key=f"{org}-key")


def open_city(url: str, keystore: MemoryKeystore | None = None) -> Ledger:
    ledger = Ledger(url, keystore=keystore or MemoryKeystore())
    create_city(ledger)
    return ledger
