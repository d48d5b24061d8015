"""An assessment run over a generated city: time and memory against reading the log itself.

The city is built once through the library (``--keep DIR`` keeps and reuses it): a root, 4
counties with 2 townships each, ``--stations`` stations spread over the townships, ``--volunteers``
volunteers registered in January 2025 (1,000 per command, as a station's bulk import would), and
per station ``--activities`` activities in 2025, each with a roster of ``--roster`` volunteers
recorded and approved in two commands (``record_roster`` then ``approve_records``). Half the
stations have their checklist attested. Two schemes are published by the root: one for the
townships and counties (all eight organisation indicators) and a station standard.

Measured in the same run, each in a fresh process on the built SQLite file (so peak memory is the
step's own, ``ru_maxrss`` minus the resident size after opening the ledger):

1. **baseline**: read every leaf of the log (``recorder.select_leaves`` in batches of 2,000) and
   parse each envelope (``open_envelope``): what any pass over the log costs;
2. **compute, trusted store**: ``compute_assessment(..., verify=False)`` of the organisation
   scheme: reading, parsing, the indicator accumulator and every unit's values;
3. **compute, verified**: the same with every relevant event's signature, key and leaf hash
   checked (``verify=True``, the default of ``assess``);
4. **assess**: ``ledger.assess`` (verified compute, then one signed ``AssessmentPublished`` per
   unit in one command);
5. **audit recomputation**: the audit's extra pass alone (``AssessmentResults.recheck`` over a
   ``StoreSource``), for the results of step 4.

Ratios are each step's time over the baseline's. Run:
``.venv/bin/python benchmarks/bench_assessment.py`` (10,000 volunteers, 40,000 records),
``--quick`` (a smoke run), ``--keep DIR``.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import resource
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from ledger import Ledger, MemoryKeystore
from ledger.audit import StoreSource
from ledger.audit.assessments import AssessmentResults
from ledger.context import Context
from ledger.envelope import open_envelope
from ledger.keystore import DirectoryKeystore
from ledger.model.ids import volunteer_aggregate_id
from ledger.results import NoValue

COUNTIES = ("north", "south", "east", "west")
CHECKLIST = [{"item": f"item-{i}", "title": f"Checklist item {i}"} for i in range(1, 11)]
ORG_SCHEME: dict[str, Any] = {
    "scheme_id": "bench-units-2025",
    "name": "Benchmark unit assessment",
    "unit_kind": "organisation",
    "indicators": [
        {"indicator": name, "weight": 125, "target": target}
        for name, target in (
            ("registered-volunteers", 2000),
            ("volunteer-growth", 500),
            ("active-member-share", 800),
            ("activities-held", 100),
            ("approved-minutes-per-member", 600),
            ("weeks-with-service", 40),
            ("late-recording-rate", 300),
            ("station-checklist-met", 1000),
        )
    ],
    "bands": [{"band": "standard", "min_score": 400}, {"band": "city-level", "min_score": 700}],
    "checklist": CHECKLIST,
}
STATION_SCHEME: dict[str, Any] = {
    **ORG_SCHEME,
    "scheme_id": "bench-stations-2025",
    "unit_kind": "station",
    "indicators": [
        {"indicator": "station-checklist-met", "weight": 600, "target": 1000},
        {"indicator": "activities-held", "weight": 200, "target": 20},
        {"indicator": "weeks-with-service", "weight": 200, "target": 20},
    ],
}


def _number(rng: random.Random) -> str:
    return "V" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(13))


def build(
    path: Path, stations: int, volunteers: int, activities: int, roster: int
) -> dict[str, int]:
    rng = random.Random(7)
    keys = DirectoryKeystore(path.with_name(path.name + ".keys"))
    with Ledger(f"sqlite:///{path}", keystore=keys) as ledger:
        ledger.create(
            name="Assessment benchmark",
            root_org_id="city",
            root_name="City",
            region="140400",
            origin="bench.example/ledger",
        )

        def register(parent: str, org_id: str, kind: str) -> None:
            ledger.register_organisation(
                parent,
                org_id=org_id,
                name=org_id,
                kind=kind,
                region="140401",
                idempotency_key=f"org-{org_id}",
            )
            ledger.new_key(parent, for_org=org_id, idempotency_key=f"key-{org_id}")

        townships = []
        for county in COUNTIES:
            register("city", county, "organisation")
            for t in (1, 2):
                register(county, f"{county}-town{t}", "organisation")
                townships.append(f"{county}-town{t}")
        station_ids = [f"{townships[i % len(townships)]}-station{i}" for i in range(stations)]
        for i, station in enumerate(station_ids):
            register(townships[i % len(townships)], station, "station")
        members: dict[str, list[str]] = {}
        january = datetime(2025, 1, 6, 9, tzinfo=UTC)
        for station in station_ids:
            numbers = [_number(rng) for _ in range(volunteers // stations)]
            members[station] = numbers
            for start in range(0, len(numbers), 1000):
                chunk = numbers[start : start + 1000]

                def decide(ctx: Context, chunk: list[str] = chunk) -> dict[str, Any]:
                    for number in chunk:
                        ctx.emit(
                            "VolunteerRegistered",
                            volunteer_aggregate_id(number),
                            {"number": number},
                        )
                    return {}

                ledger._writer.run(
                    org=station,
                    signer=ledger.signer_for(station),
                    idempotency_key=f"reg-{station}-{start}",
                    command="VolunteerRegistered",
                    params={"numbers": chunk},
                    decide=decide,
                    result_type=NoValue,
                    occurred_at=january,
                )
        ledger.publish_assessment_scheme("city", scheme=ORG_SCHEME, idempotency_key="s1")
        ledger.publish_assessment_scheme("city", scheme=STATION_SCHEME, idempotency_key="s2")
        records = 0
        for a in range(activities):
            for station in station_ids:
                day = datetime(2025, 1, 13, 9, tzinfo=UTC) + timedelta(days=rng.randrange(340))
                activity_id = ledger.publish_activity(
                    station,
                    title=f"Activity {a}",
                    field="legal-aid",
                    place="square",
                    starts_at=day,
                    ends_at=day + timedelta(hours=3),
                    leader="lead",
                    content="service",
                    people_served=rng.randint(10, 300),
                    idempotency_key=f"activity-{station}-{a}",
                    occurred_at=day - timedelta(days=2),
                ).value.activity_id
                chosen = rng.sample(members[station], k=min(roster, len(members[station])))
                recorded = ledger.record_roster(
                    station,
                    activity_id=activity_id,
                    idempotency_key=f"roster-{station}-{a}",
                    occurred_at=day + timedelta(days=rng.choice((1, 2, 5, 30))),
                    entries=[{"number": n, "minutes": rng.randint(60, 180)} for n in chosen],
                )
                ledger.approve_records(
                    station,
                    idempotency_key=f"approve-{station}-{a}",
                    approvals=[{"record_id": r} for r in recorded.value.record_ids],
                )
                records += len(chosen)
        for i, station in enumerate(station_ids[::2]):
            parent = ledger._directory.organisation(station).parent
            assert parent is not None
            ledger.attest_station_items(
                parent,
                station=station,
                scheme_id="bench-stations-2025",
                items=[
                    {"item": c["item"], "evidence": [{"sha256": f"{i:064x}"}]}
                    for c in CHECKLIST[: 4 + i % 7]
                ],
                attested_on=date(2025, 11, 1),
                idempotency_key=f"attest-{station}",
            )
        return {
            "log_size": ledger.log_size(),
            "records": records,
            "volunteers": volunteers // stations * stations,
            "stations": stations,
        }


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _step(path: str, name: str, queue: Any) -> None:
    keys = DirectoryKeystore(Path(path + ".keys")) if name == "assess" else MemoryKeystore()
    with Ledger(f"sqlite:///{path}", keystore=keys) as ledger:
        ledger.refresh()
        base = _rss_kb()
        started = time.perf_counter()
        detail = STEPS[name](ledger)
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    queue.put((seconds, max(0, peak - base) / 1024, detail))


def _baseline(ledger: Ledger) -> str:
    size, start, read = ledger.log_size(), 0, 0
    while start < size:
        batch = ledger._recorder.select_leaves(start, 2000)
        for row in batch:
            open_envelope(row.state)
            read += 1
        start = batch[-1].leaf_index + 1
    return f"{read} envelopes"


def _compute(verify: bool) -> Callable[[Ledger], str]:
    def run(ledger: Ledger) -> str:
        units = ledger.compute_assessment("bench-units-2025", "2025", verify=verify)["units"]
        return f"{len(units)} units"

    return run


def _assess(ledger: Ledger) -> str:
    result = ledger.assess(
        "city",
        scheme_id="bench-units-2025",
        period="2025",
        idempotency_key=f"bench-{time.time_ns()}",
    )
    return f"{len(result.events)} results signed"


def _recheck(ledger: Ledger) -> str:
    results = AssessmentResults()
    source = StoreSource(ledger)
    for leaf in source.leaves(0):
        results.see(leaf)
    found: list[Any] = []
    started = time.perf_counter()
    checked = results.recheck(source, found.append)
    spent = time.perf_counter() - started
    return f"{checked} results recomputed, {len(found)} findings; {spent:.2f} s in recheck"


STEPS: dict[str, Callable[[Ledger], str]] = {
    "baseline": _baseline,
    "compute, trusted store": _compute(False),
    "compute, verified": _compute(True),
    "assess": _assess,
    "audit recomputation": _recheck,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stations", type=int, default=40)
    parser.add_argument("--volunteers", type=int, default=10_000)
    parser.add_argument("--activities", type=int, default=25, help="per station")
    parser.add_argument("--roster", type=int, default=40)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--keep", type=Path, default=None)
    args = parser.parse_args()
    if args.quick:
        args.stations, args.volunteers, args.activities, args.roster = 8, 400, 3, 20
    folder = args.keep or Path(tempfile.mkdtemp(prefix="bench-assessment-"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"city-{args.stations}-{args.volunteers}-{args.activities}-{args.roster}.db"
    if not path.exists():
        started = time.perf_counter()
        made = build(path, args.stations, args.volunteers, args.activities, args.roster)
        print(f"built {made} in {time.perf_counter() - started:.0f} s")
    context = multiprocessing.get_context("spawn")
    rows = []
    for name in STEPS:
        queue = context.Queue()
        child = context.Process(target=_step, args=(str(path), name, queue))
        child.start()
        rows.append((name, *queue.get()))
        child.join()
    baseline = rows[0][1]
    print(f"\n{'step':<24} {'seconds':>8} {'x baseline':>10} {'peak MB':>8}  detail")
    for name, seconds, mb, detail in rows:
        print(f"{name:<24} {seconds:>8.2f} {seconds / baseline:>10.2f} {mb:>8.1f}  {detail}")


if __name__ == "__main__":
    main()
