"""A volunteer's transfer between two ledgers: the package's size and the time to build and to
verify it, against the raw cost of checking the same signatures.

Two ledgers in memory (each with a root, two organisations with their keys and three witnesses
run in process) pin each other; one volunteer of the first gets ``--records`` approved records
(a five-star volunteer has hundreds), then moves to the second. The benchmark times

* ``transfer_out``: the signed transfer-out with the summary it commits to;
* ``package``: building the package (events, inclusion proofs, key evidence, checkpoint);
* ``verify``: the receiver's full check (:func:`ledger.federation.verify_package`);
* ``baseline``: Ed25519 verification of the package's event signatures alone, the floor any
  verifier pays;

and prints each with the verify/baseline ratio and the package's size in bytes.

Run: ``.venv/bin/python benchmarks/bench_federation.py`` (``--records 100`` for a quick run).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from federation_support import City, make_city

from ledger.envelope import body_bytes_of, open_envelope, verify_body
from ledger.federation import verify_package
from ledger.signing import VerifyingKey

START = datetime(2024, 1, 1, 8, 0, tzinfo=UTC)


def volunteer_with_records(city: City, records: int) -> str:
    ledger = city.ledger
    number = city.volunteer()
    activity = ledger.publish_activity(
        "org-a",
        title="Year-round desk",
        field="community-service",
        place="Community centre",
        starts_at=START,
        ends_at=START + timedelta(days=records + 1),
        leader="desk-lead",
        content="helping residents",
        idempotency_key="long-activity",
        max_minutes=60,
        allow_repeats=True,
    ).value.activity_id
    ids = []
    for day in range(records):
        served = START + timedelta(days=day)
        ids.append(
            ledger.record_hours(
                "org-a",
                activity_id=activity,
                number=number,
                minutes=60,
                service_date=served.date(),
                occurred_at=served + timedelta(hours=4),
                idempotency_key=f"record-{day}",
            ).value.record_id
        )
    for start in range(0, records, 50):
        ledger.approve_records(
            "org-a",
            approvals=[{"record_id": r} for r in ids[start : start + 50]],
            idempotency_key=f"approve-{start}",
        )
    return number


def baseline(package: dict[str, object], keys: dict[str, VerifyingKey]) -> float:
    entries = [package["transfer_out"], *package["service"], *package["keys"]]  # type: ignore[list-item]
    started = time.perf_counter()
    for entry in entries:
        envelope = entry["entry"].encode()  # type: ignore[index]
        body, signature, _ = open_envelope(envelope)
        verify_body(body_bytes_of(envelope), signature, keys[body["key_id"]])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=500, help="approved records to move")
    parser.add_argument("--rounds", type=int, default=5, help="verifications timed (best kept)")
    args = parser.parse_args()
    alpha, beta = make_city("memory://", "alpha"), make_city("memory://", "beta")
    try:
        alpha.ledger.add_peer("alpha", trust=beta.trust(), idempotency_key="pin")
        beta.ledger.add_peer("beta", trust=alpha.trust(), idempotency_key="pin")
        number = volunteer_with_records(alpha, args.records)
        started = time.perf_counter()
        out = alpha.ledger.transfer_out(
            "org-a", number=number, to_origin=beta.origin, idempotency_key="out"
        )
        transfer_out = time.perf_counter() - started
        started = time.perf_counter()
        package = alpha.package(out.value.transfer_id)
        build = time.perf_counter() - started
        anchors = beta.ledger.peer(alpha.origin)
        verify = min(
            _timed(lambda: verify_package(package, anchors=anchors, here_origin=beta.origin))
            for _ in range(args.rounds)
        )
        alpha.ledger._directory.refresh()
        keys = {kid: info.key for kid, info in alpha.ledger._directory.keys.items()}
        floor = min(baseline(package, keys) for _ in range(args.rounds))
        size = len(json.dumps(package, separators=(",", ":")).encode())
        events = 1 + len(package["service"]) + len(package["keys"])
        print(f"records moved       : {args.records} ({events} signed events in the package)")
        print(f"package size        : {size:,} bytes ({size / args.records:,.0f} per record)")
        print(f"transfer_out        : {transfer_out * 1000:8.1f} ms")
        print(f"build package       : {build * 1000:8.1f} ms")
        print(f"verify package      : {verify * 1000:8.1f} ms")
        print(f"baseline signatures : {floor * 1000:8.1f} ms")
        print(f"verify / baseline   : {verify / floor:8.2f}")
    finally:
        alpha.ledger.close()
        beta.ledger.close()


def _timed(action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
