"""What following one city costs the provincial view (``ledger federation stats``), per 1,000
entries, against the audit of the same ledger read from its store, measured in the same run.

A city is built with the demo (``build_demo``, ``--volunteers`` volunteers, in memory: real keys,
signatures, rules and log), then grown by rounds of service (new volunteers, an activity, their
hours recorded and approved, a correction and a void) to at least ``--entries`` entries. Then:

1. **Province, first run**: :func:`ledger.federation.province_follow.follow_city` from nothing
   over the whole log: the checkpoint verified, every entry bundle read through an ``httpx``
   transport that answers from the ledger's own log as ``/log/tile/...`` does (no socket: this
   measures the verifier, not the network), the root recomputed, every entry replayed (its
   signature, keys, rules) and fed to the figure views; the progress then written as JSON.
2. **Province, incremental run**: the city grows by ``--more`` rounds of service and the province
   continues from the saved JSON state (loaded from text, as a new run does).
3. **Audit** (the baseline): ``audit(StoreSource(ledger), workers=1, compare_views=False)`` over
   the same ledger: the same replay, reading from the store instead of tiles.

Printed: entries, seconds, entries per second, seconds per 1,000 entries, the state file's size,
and the ratio province/audit. One signature-checking process for both (``--workers``).

Run: ``.venv/bin/python benchmarks/bench_province.py`` (``--entries 5000``), ``--quick``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "integration" / "federation")]

from province_testing import LedgerTransport, more_service  # noqa: E402

from ledger import Ledger, MemoryKeystore  # noqa: E402
from ledger.audit import StoreSource, audit  # noqa: E402
from ledger.demo import build_demo  # noqa: E402
from ledger.federation.province_file import CitySpec  # noqa: E402
from ledger.federation.province_follow import CityProgress, follow_city  # noqa: E402
from ledger.federation.province_reader import TileReader  # noqa: E402
from ledger.trust_policy import TrustPolicy  # noqa: E402


def build(volunteers: int, entries: int) -> tuple[Ledger, str]:
    ledger = Ledger("memory://", keystore=MemoryKeystore())
    ledger.create(
        name="Bench city",
        root_org_id="bench-city",
        root_name="Bench City Volunteer Federation",
        region="140400",
        origin="bench.province.example/log",
    )
    recorder = build_demo(ledger, volunteers=volunteers, seed=3)["city"].recorders[0]
    round_ = 0
    while ledger.log_size() < entries:
        more_service(ledger, recorder, f"grow-{round_}", volunteers=10)
        round_ += 1
    return ledger, recorder


def follow(
    ledger: Ledger, spec: CitySpec, saved: CityProgress | None, workers: int
) -> tuple[CityProgress, int, float]:
    reader = TileReader(spec.url, httpx.Client(transport=LedgerTransport(ledger)))
    started = time.perf_counter()
    result = follow_city(spec, saved, reader, workers=workers)
    text = json.dumps(result.progress.to_json())
    seconds = time.perf_counter() - started
    progress = CityProgress.from_json("bench", json.loads(text))
    return progress, result.new_entries, seconds


def line(what: str, entries: int, seconds: float) -> str:
    rate = entries / seconds if seconds else 0.0
    per_thousand = 1000 * seconds / entries if entries else 0.0
    return (
        f"{what:<28} {entries:>8} entries  {seconds:8.2f} s  {rate:9.0f} entries/s  "
        f"{per_thousand:6.3f} s per 1,000"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=5000, help="grow the city to this size")
    parser.add_argument("--volunteers", type=int, default=100, help="the demo city's volunteers")
    parser.add_argument("--more", type=int, default=10, help="rounds of service between runs")
    parser.add_argument("--workers", type=int, default=1, help="signature-checking processes")
    parser.add_argument("--quick", action="store_true", help="a smoke run (1,000 entries)")
    args = parser.parse_args()
    if args.quick:
        args.entries, args.volunteers, args.more = 1000, 20, 3
    ledger, recorder = build(args.volunteers, args.entries)
    policy = TrustPolicy.from_json(ledger.trust_anchors())
    assert policy.root_key is not None and policy.origin is not None
    spec = CitySpec("bench", "http://bench.test", policy, policy.root_key, policy.origin)

    first, first_entries, first_seconds = follow(ledger, spec, None, args.workers)
    state_bytes = len(json.dumps(first.to_json()))
    for i in range(args.more):
        more_service(ledger, recorder, f"more-{i}", volunteers=10)
    _, more_entries, more_seconds = follow(ledger, spec, first, args.workers)

    started = time.perf_counter()
    report = audit(StoreSource(ledger), workers=args.workers, compare_views=False, progress=False)
    audit_seconds = time.perf_counter() - started
    assert report.clean, [f.line() for f in report.findings]

    print(line("province, first run", first_entries, first_seconds))
    print(line("province, incremental run", more_entries, more_seconds))
    print(line("audit of the store (baseline)", report.events_checked, audit_seconds))
    print(f"state kept for the city: {state_bytes / 1024:.0f} KiB after {first.size} entries")
    province_rate = first_entries / first_seconds
    audit_rate = report.events_checked / audit_seconds
    print(f"ratio province/audit (entries/s): {province_rate / audit_rate:.2f}")
    ledger.close()


if __name__ == "__main__":
    main()
