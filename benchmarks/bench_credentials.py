"""What the credential documents signed on request cost: a Bitstring Status List credential
(16 KiB bitstring, GZIP, eddsa-jcs-2022), an Open Badges 3.0 badge, and the certificate's
offline package, against a bare Ed25519 signature measured in the same run.

A ledger in memory holds one organisation, a volunteer with one approved record, an honour and a
certificate. Each round runs every operation ``--n`` times in turn; the figure is the median over
rounds of operations per second, with the ratio to the Ed25519 baseline (how many signatures one
document costs).

Run: ``.venv/bin/python benchmarks/bench_credentials.py`` (``--quick`` for a smoke run).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

from ledger import Ledger, MemoryKeystore
from ledger.credentials.status_list import encode_list
from ledger.signing import SigningKey

START = datetime(2025, 3, 7, 9, 0, tzinfo=UTC)


def build() -> tuple[Ledger, str, str, str]:
    ledger = Ledger("memory://", keystore=MemoryKeystore())
    ledger.create(
        name="bench",
        root_org_id="city",
        root_name="City",
        region="140400",
        origin="ledger.bench.example/log",
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
    number = str(ledger.register_volunteer("org-a", idempotency_key="v").value.number)
    activity = ledger.publish_activity(
        "org-a",
        title="Desk",
        field="legal-aid",
        place="Centre",
        starts_at=START,
        ends_at=START + timedelta(hours=4),
        leader="lead",
        content="help",
        idempotency_key="activity",
    ).value.activity_id
    record = ledger.record_hours(
        "org-a",
        activity_id=activity,
        number=number,
        minutes=120,
        occurred_at=START + timedelta(days=1),
        idempotency_key="record",
    ).value.record_id
    ledger.approve_record("org-a", record_id=record, idempotency_key="approve")
    honour = ledger.grant_honour(
        "org-a",
        recipient_kind="volunteer",
        recipient=number,
        honour="Desk star",
        citation="a year at the desk",
        granted_on=date(2025, 12, 5),
        idempotency_key="honour",
    ).value.honour_id
    certificate = ledger.issue_certificate(
        "org-a",
        number=number,
        period_from=date(2025, 1, 1),
        period_to=date(2025, 12, 31),
        issuer_contact="desk",
        idempotency_key="certificate",
    ).value.certificate_number
    return ledger, number, str(honour), str(certificate)


def rates(operations: dict[str, Callable[[], object]], n: int, rounds: int) -> dict[str, float]:
    """Median operations per second; every round runs each operation in turn, so that the
    baseline is measured under the same load as the rest."""
    figures: dict[str, list[float]] = {name: [] for name in operations}
    for _ in range(rounds):
        for name, operation in operations.items():
            started = time.perf_counter()
            for _ in range(n):
                operation()
            figures[name].append(n / (time.perf_counter() - started))
    return {name: statistics.median(values) for name, values in figures.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    n, rounds = (20, 2) if args.quick else (args.n, args.rounds)
    ledger, number, honour, certificate = build()
    key = SigningKey.generate()
    message = bytes(64)
    operations: dict[str, Callable[[], object]] = {
        "Ed25519 sign, 64 bytes (baseline)": lambda: key.sign(message),
        "encodedList of 131,072 bits (GZIP + base64url)": lambda: encode_list([0]),
        "certificate status list credential, signed": lambda: ledger.certificate_status_list(
            certificate
        ),
        "honour status list credential, signed": lambda: ledger.badge_status_list(
            number, honour_id=honour
        ),
        "honour badge (Open Badges 3.0), signed": lambda: ledger.badge(number, honour_id=honour),
        "certificate package (receipts and status note)": lambda: ledger.certificate_package(
            certificate
        ),
    }
    measured = rates(operations, n, rounds)
    baseline = next(iter(measured.values()))
    print(f"{'operation':<50} {'per second':>12} {'cost in signatures':>20}")
    for name, figure in measured.items():
        print(f"{name:<50} {figure:>12,.0f} {baseline / figure:>20.1f}")
    ledger.close()


if __name__ == "__main__":
    main()
